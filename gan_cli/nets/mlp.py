"""Multi-layer perceptrons: the Keras MNIST GAN tutorial's generator and discriminator."""

from __future__ import annotations

import math

import keras

from gan_cli.nets.common import BatchMatMulDense, PackedDropout, activation, kernel_initializer, kernel_layer
from gan_cli.recipe.schema import NetSpec


def _hidden(x: keras.KerasTensor, spec: NetSpec, *, batch_norm: bool) -> keras.KerasTensor:
    for index, width in enumerate(spec.widths):
        init = kernel_initializer(spec.kernel_stddev, index, spec.kernel_stddev_layers)
        x = kernel_layer(BatchMatMulDense(width, kernel_initializer=init, name=f"dense_{index}"),
                         spec.spectral_norm)(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"batch_norm_{index}")(x)
        x = activation(spec.activation, spec.negative_slope, layer_name=f"{spec.activation}_{index}")(x)
        if spec.dropout > 0:
            x = PackedDropout(spec.dropout, name=f"dropout_{index}")(x)
    return x


def generator(spec: NetSpec, latent_dim: int, image_shape: tuple[int, int, int]) -> keras.Model:
    """z (latent_dim,) -> Dense stack -> Dense(H*W*C, output_activation) -> reshape to the image."""
    z = keras.Input((latent_dim,), name="z")
    x = _hidden(z, spec, batch_norm=spec.batch_norm)
    init = kernel_initializer(spec.kernel_stddev, len(spec.widths), spec.kernel_stddev_layers)
    x = kernel_layer(BatchMatMulDense(math.prod(image_shape), activation=spec.output_activation,
                                        kernel_initializer=init, name="dense_out"), spec.spectral_norm)(x)
    image = keras.layers.Reshape(image_shape, name="image")(x)
    return keras.Model(z, image, name="generator")


def discriminator(spec: NetSpec, image_shape: tuple[int, int, int]) -> keras.Model:
    """image -> flatten -> Dense stack (with dropout) -> Dense(1, output_activation)."""
    image = keras.Input(image_shape, name="image")
    x = keras.layers.Flatten(name="flatten")(image)
    x = _hidden(x, spec, batch_norm=spec.batch_norm)
    init = kernel_initializer(spec.kernel_stddev, len(spec.widths), spec.kernel_stddev_layers)
    score = kernel_layer(BatchMatMulDense(1, activation=spec.output_activation, kernel_initializer=init,
                                            name="score"), spec.spectral_norm)(x)
    return keras.Model(image, score, name="discriminator")
