"""Class-conditional wrappers around any generator and discriminator builder (conditional GAN).

The label enters as a one-hot vector (N, K). G(z, y) = G'(z ++ code(y)), where G' is the recipe's
generator built for a latent of latent_dim + code size; D(x, y) = D'(x ++ label channels), where D' is
the recipe's discriminator built for C + extra channels. ``one_hot``: code(y) is the one-hot vector and D
gets K constant channels (channel k is 1 where the label is k); ``embedding``: a learned Dense embedding
of size ``embedding_dim`` for G, and one learned image-sized channel for D.

``condition.generator: batch_norm`` does not come here: dcgan's own generator then takes the label through
conditional batch norms (:func:`gan_cli.nets.dcgan.generator` with ``num_classes``), as biggan's always does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras

from gan_cli.nets.common import BatchMatMulDense
from gan_cli.recipe.schema import ConditionSpec, DiscriminatorSpec, GeneratorSpec


def conditional_generator(spec: GeneratorSpec, image_shape: tuple[int, int, int], num_classes: int,
                          condition: ConditionSpec,
                          build: Callable[[GeneratorSpec, tuple[int, int, int]], keras.Model]) -> keras.Model:
    """[z (latent_dim,), y one-hot (K,)] -> image, around ``build``'s generator."""
    code_size = num_classes if condition.mode == "one_hot" else condition.embedding_dim
    inner_spec = dataclasses.replace(spec, latent_dim=spec.latent_dim + code_size)
    inner = build(inner_spec, image_shape)
    z = keras.Input((spec.latent_dim,), name="z")
    label = keras.Input((num_classes,), name="label")
    code = label if condition.mode == "one_hot" else BatchMatMulDense(
        condition.embedding_dim, use_bias=False, name="label_embedding")(label)
    image = inner(keras.layers.Concatenate(name="z_and_label")([z, code]))
    return keras.Model([z, label], image, name="generator")


def conditional_discriminator(spec: DiscriminatorSpec, image_shape: tuple[int, int, int], num_classes: int,
                              condition: ConditionSpec,
                              build: Callable[[DiscriminatorSpec, tuple[int, int, int]], keras.Model]) -> keras.Model:
    """[image, y one-hot (K,)] -> score, around ``build``'s discriminator."""
    height, width, channels = image_shape
    extra = num_classes if condition.mode == "one_hot" else 1
    inner = build(spec, (height, width, channels + extra))
    image = keras.Input(image_shape, name="image")
    label = keras.Input((num_classes,), name="label")
    if condition.mode == "one_hot":
        maps = keras.layers.Reshape((1, 1, num_classes))(label)
        maps = keras.layers.UpSampling2D((height, width), name="label_channels")(maps)
    else:
        maps = BatchMatMulDense(height * width, use_bias=False, name="label_embedding")(label)
        maps = keras.layers.Reshape((height, width, 1), name="label_channel")(maps)
    score = inner(keras.layers.Concatenate(axis=-1, name="image_and_label")([image, maps]))
    return keras.Model([image, label], score, name="discriminator")
