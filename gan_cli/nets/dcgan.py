"""DCGAN-style convolutional networks (Radford et al. 2015): strided convolutions, no pooling."""

from __future__ import annotations

import keras

from gan_cli.errors import RecipeError
from gan_cli.nets.biggan import class_embedding, conditional_batch_norm
from gan_cli.nets.common import (
    BatchMatMulDense,
    PackedDropout,
    activation,
    check_divisible,
    kernel_initializer,
    kernel_layer,
)
from gan_cli.recipe.schema import NetSpec


def _base_size(spec: NetSpec, image_shape: tuple[int, int, int], role: str) -> tuple[int, int]:
    return check_divisible(image_shape, len(spec.widths), role, f"dcgan with {len(spec.widths)} stages")


def generator(spec: NetSpec, latent_dim: int, image_shape: tuple[int, int, int], *,
              num_classes: int | None = None, embedding_dim: int = 16) -> keras.Model:
    """z -> Dense -> (H/2^n, W/2^n, widths[0]) -> Conv2DTranspose stride 2 per width -> image.

    With n = len(widths): the first width is the projected feature map's depth, each later width
    is one up-sampling stage, and a last stride-2 Conv2DTranspose makes the image channels.

    ``num_classes`` (with ``spec.batch_norm``; RecipeError without): class-conditional batch norms, the
    conditional GAN's ``condition.generator: batch_norm``. The model takes [z, one-hot ``label`` (K,)]; z alone
    feeds ``project``, and the label enters only through ``label_embedding`` (one bias-free
    Dense(embedding_dim) shared by all norms) and, per norm, the gain and bias Dense layers of BigGAN's
    conditional batch norm (:func:`gan_cli.nets.biggan.conditional_batch_norm`, with its momentum and
    epsilon): every ``batch_norm_{i}`` becomes BatchNorm(x) * (1 + Dense(C)(e)) + Dense(C)(e). The first norm,
    on the flat projection, keeps its per-feature statistics and gains (the projection is a (1, 1, F) map for
    it, F = H/2^n * W/2^n * widths[0]). Stock Keras layers only: the exported file loads without gan_cli.
    """
    base_h, base_w = _base_size(spec, image_shape, "generator")
    z = keras.Input((latent_dim,), name="z")
    inputs, embedding = [z], None
    if num_classes:
        if not spec.batch_norm:
            raise RecipeError("condition.generator: batch_norm conditions G's batch norms on the label, so it "
                              "needs generator.batch_norm: true")
        label = keras.Input((num_classes,), name="label")
        inputs.append(label)
        embedding = class_embedding(label, embedding_dim)

    def norm(x: keras.KerasTensor, name: str) -> keras.KerasTensor:
        if embedding is None:
            return keras.layers.BatchNormalization(name=name)(x)
        return conditional_batch_norm(x, embedding, name, spec.spectral_norm)

    features = base_h * base_w * spec.widths[0]
    init = kernel_initializer(spec.kernel_stddev, 0, spec.kernel_stddev_layers)
    x = kernel_layer(BatchMatMulDense(features, use_bias=not spec.batch_norm,
                                        kernel_initializer=init, name="project"), spec.spectral_norm)(z)
    if spec.batch_norm:
        if embedding is not None:  # the conditional norm's gain and bias maps are (1, 1, C)
            x = keras.layers.Reshape((1, 1, features), name="project_map")(x)
        x = norm(x, "batch_norm_0")
    x = activation(spec.activation, spec.negative_slope, layer_name=f"{spec.activation}_0")(x)
    x = keras.layers.Reshape((base_h, base_w, spec.widths[0]), name="feature_map")(x)
    for index, width in enumerate(spec.widths[1:], start=1):
        init = kernel_initializer(spec.kernel_stddev, index, spec.kernel_stddev_layers)
        x = kernel_layer(keras.layers.Conv2DTranspose(width, spec.kernel_size, strides=2, padding="same",
                                                      use_bias=not spec.batch_norm, kernel_initializer=init,
                                                      name=f"deconv_{index}"), spec.spectral_norm)(x)
        if spec.batch_norm:
            x = norm(x, f"batch_norm_{index}")
        x = activation(spec.activation, spec.negative_slope, layer_name=f"{spec.activation}_{index}")(x)
        if spec.dropout > 0:
            x = PackedDropout(spec.dropout, name=f"dropout_{index}")(x)
    init = kernel_initializer(spec.kernel_stddev, len(spec.widths), spec.kernel_stddev_layers)
    image = kernel_layer(keras.layers.Conv2DTranspose(image_shape[2], spec.kernel_size, strides=2, padding="same",
                                                      activation=spec.output_activation, kernel_initializer=init,
                                                      name="image"), spec.spectral_norm)(x)
    return keras.Model(inputs if num_classes else z, image, name="generator")


def discriminator(spec: NetSpec, image_shape: tuple[int, int, int]) -> keras.Model:
    """image -> Conv2D stride 2 per width (batch norm on all but the first) -> Dense(1)."""
    _base_size(spec, image_shape, "discriminator")
    image = keras.Input(image_shape, name="image")
    x = image
    for index, width in enumerate(spec.widths):
        init = kernel_initializer(spec.kernel_stddev, index, spec.kernel_stddev_layers)
        use_norm = spec.batch_norm and index > 0
        x = kernel_layer(keras.layers.Conv2D(width, spec.kernel_size, strides=2, padding="same",
                                             use_bias=not use_norm, kernel_initializer=init, name=f"conv_{index}"),
                         spec.spectral_norm)(x)
        if use_norm:
            x = keras.layers.BatchNormalization(name=f"batch_norm_{index}")(x)
        x = activation(spec.activation, spec.negative_slope, layer_name=f"{spec.activation}_{index}")(x)
        if spec.dropout > 0:
            x = PackedDropout(spec.dropout, name=f"dropout_{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    init = kernel_initializer(spec.kernel_stddev, len(spec.widths), spec.kernel_stddev_layers)
    score = kernel_layer(BatchMatMulDense(1, activation=spec.output_activation, kernel_initializer=init,
                                            name="score"), spec.spectral_norm)(x)
    return keras.Model(image, score, name="discriminator")
