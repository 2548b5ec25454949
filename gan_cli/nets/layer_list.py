"""Networks written out layer by layer in the recipe (``architecture: layers``).

The list is the whole network: widths, activation and output_activation are not used. A Dense
layer flattens a non-flat input first; a generator whose last layer is flat with H*W*C units is
reshaped to the image.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import keras

from gan_cli.errors import RecipeError
from gan_cli.nets.common import BatchMatMulDense, PackedDropout, activation, kernel_layer
from gan_cli.recipe.schema import (
    ActivationLayer,
    BatchNormLayer,
    Conv2DLayer,
    Conv2DTransposeLayer,
    DenseLayer,
    DropoutLayer,
    FlattenLayer,
    NetSpec,
    ReshapeLayer,
    UpSamplingLayer,
)


def _init(stddev: float | None) -> str | keras.initializers.Initializer:
    return "glorot_uniform" if stddev is None else keras.initializers.RandomNormal(stddev=stddev)


def _apply(layers: Sequence[object], x: keras.KerasTensor, role: str, spectral_norm: bool) -> keras.KerasTensor:
    for index, spec in enumerate(layers):
        name = f"{role}_layer_{index}"
        try:
            x = _apply_one(spec, x, name, spectral_norm)
        except ValueError as exc:
            raise RecipeError(f"{role}.layers[{index}]: cannot be applied to an input of shape "
                              f"{tuple(x.shape[1:])}: {_reason(exc)}") from None
    return x


def _reason(exc: Exception) -> str:
    """The informative line of a Keras error (Keras wraps the cause in a generic first line)."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    useful = [line for line in lines if line and not line.startswith(("Exception encountered", "Arguments received"))
              and not line.startswith("•")]
    return useful[0] if useful else (lines[0] if lines else type(exc).__name__)


def _apply_one(spec: object, x: keras.KerasTensor, name: str, spectral_norm: bool) -> keras.KerasTensor:
    if isinstance(spec, DenseLayer):
        if len(x.shape) > 2:
            x = keras.layers.Flatten(name=f"{name}_flatten")(x)
        return kernel_layer(BatchMatMulDense(spec.units, activation=spec.activation, use_bias=spec.use_bias,
                                               kernel_initializer=_init(spec.kernel_stddev), name=name),
                            spectral_norm)(x)
    if isinstance(spec, Conv2DLayer):
        cls = keras.layers.Conv2DTranspose if isinstance(spec, Conv2DTransposeLayer) else keras.layers.Conv2D
        return kernel_layer(cls(spec.filters, spec.kernel_size, strides=spec.strides, padding=spec.padding,
                                activation=spec.activation, use_bias=spec.use_bias,
                                kernel_initializer=_init(spec.kernel_stddev), name=name), spectral_norm)(x)
    if isinstance(spec, ReshapeLayer):
        return keras.layers.Reshape(spec.target_shape, name=name)(x)
    if isinstance(spec, FlattenLayer):
        return keras.layers.Flatten(name=name)(x)
    if isinstance(spec, ActivationLayer):
        return activation(spec.name, spec.negative_slope, layer_name=name)(x)
    if isinstance(spec, DropoutLayer):
        return PackedDropout(spec.rate, name=name)(x)
    if isinstance(spec, BatchNormLayer):
        return keras.layers.BatchNormalization(momentum=spec.momentum, name=name)(x)
    if isinstance(spec, UpSamplingLayer):
        return keras.layers.UpSampling2D(spec.size, name=name)(x)
    raise TypeError(f"no builder for layer spec {type(spec).__name__}")  # pragma: no cover


def generator(spec: NetSpec, latent_dim: int, image_shape: tuple[int, int, int]) -> keras.Model:
    """z -> the listed layers (-> reshape to the image when the output is flat with H*W*C units)."""
    z = keras.Input((latent_dim,), name="z")
    x = _apply(spec.layers or (), z, "generator", spec.spectral_norm)
    if len(x.shape) == 2 and x.shape[-1] == math.prod(image_shape):
        x = keras.layers.Reshape(image_shape, name="image")(x)
    return keras.Model(z, x, name="generator")


def discriminator(spec: NetSpec, image_shape: tuple[int, int, int]) -> keras.Model:
    """image -> the listed layers; the output must be one score per image."""
    image = keras.Input(image_shape, name="image")
    return keras.Model(image, _apply(spec.layers or (), image, "discriminator", spec.spectral_norm),
                       name="discriminator")
