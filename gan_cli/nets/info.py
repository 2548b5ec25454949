"""InfoGAN's networks (Chen et al. 2016): a generator fed latent codes, and a Q head on D's body.

G(z, c1, c) = G'(z ++ c1 ++ c) where c1 is a one-hot categorical code and c continuous codes, G' the
recipe's generator built for the longer latent. Q shares every layer of D but its last: from the input of
D's final layer, Dense 128 + LeakyReLU(0.2) + Dense(K + n) give c1's logits and c's means.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras

from gan_cli.nets.common import BatchMatMulDense
from gan_cli.recipe.schema import GeneratorSpec, InfoSpec


def info_generator(spec: GeneratorSpec, image_shape: tuple[int, int, int], info: InfoSpec,
                   build: Callable[[GeneratorSpec, tuple[int, int, int]], keras.Model]) -> keras.Model:
    """[z (latent_dim,), c1 one-hot (K,), c (n,)] -> image, around ``build``'s generator."""
    inner = build(dataclasses.replace(spec, latent_dim=spec.latent_dim + info.categorical + info.continuous),
                  image_shape)
    z = keras.Input((spec.latent_dim,), name="z")
    categorical = keras.Input((info.categorical,), name="c_categorical")
    continuous = keras.Input((info.continuous,), name="c_continuous")
    image = inner(keras.layers.Concatenate(name="z_and_codes")([z, categorical, continuous]))
    return keras.Model([z, categorical, continuous], image, name="generator")


def q_head(discriminator: keras.Model, info: InfoSpec) -> tuple[keras.Model, list[keras.layers.Layer]]:
    """Q(x) -> [c1 logits (K), c means (n)] sharing D's body; returns the model and Q's own layers."""
    body = discriminator.layers[-1].input
    own = [BatchMatMulDense(128, name="q_dense"), keras.layers.LeakyReLU(0.2, name="q_leaky_relu"),
           BatchMatMulDense(info.categorical + info.continuous, name="q_codes")]
    x = keras.layers.Flatten(name="q_flatten")(body) if len(body.shape) > 2 else body
    for layer in own:
        x = layer(x)
    return keras.Model(discriminator.inputs, x, name="q"), own
