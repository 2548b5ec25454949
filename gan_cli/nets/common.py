"""Pieces shared by the network builders: activations, initializers, output checks."""

from __future__ import annotations

import keras

from gan_cli.errors import RecipeError


def activation(name: str, negative_slope: float = 0.2, *, layer_name: str | None = None) -> keras.layers.Layer:
    """A Keras layer for a recipe activation name (``leaky_relu`` uses ``negative_slope``)."""
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=negative_slope, name=layer_name)
    return keras.layers.Activation(name, name=layer_name)


def kernel_initializer(stddev: float | None, layer_index: int, scope: str) -> str | keras.initializers.Initializer:
    """RandomNormal(stddev) for the layers ``scope`` selects (``first`` or ``all``), else Keras' default."""
    if stddev is None or (scope == "first" and layer_index > 0):
        return "glorot_uniform"
    return keras.initializers.RandomNormal(mean=0.0, stddev=stddev)


def kernel_layer(layer: keras.layers.Layer, spectral_norm: bool) -> keras.layers.Layer:
    """``layer`` itself, or wrapped in ``keras.layers.SpectralNormalization`` (SNGAN)."""
    if not spectral_norm:
        return layer
    return keras.layers.SpectralNormalization(layer, name=f"{layer.name}_sn")


def check_output(model: keras.Model, expected: tuple[int, ...], role: str) -> keras.Model:
    """Raise a RecipeError unless ``model`` outputs ``(batch, *expected)``."""
    got = tuple(model.output.shape[1:])
    if got != tuple(expected):
        raise RecipeError(f"{role}: the network outputs shape {got} but must output {tuple(expected)} "
                          f"(the {'image shape of the data' if role == 'generator' else 'one score per image'}); "
                          f"adjust {role}.widths / {role}.layers or data.image_size")
    return model
