"""Optimizers by recipe name; parameters left null take Keras' own defaults."""

from __future__ import annotations

import keras

from gan_cli.recipe import OPTIMIZER_PARAMS, OptimizerSpec

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}


def make_optimizer(spec: OptimizerSpec) -> keras.optimizers.Optimizer:
    """A new optimizer instance (each compiled model needs its own in Keras 3)."""
    kwargs = {name: getattr(spec, name) for name in OPTIMIZER_PARAMS[spec.name]
              if getattr(spec, name) is not None}
    return OPTIMIZERS[spec.name](learning_rate=spec.learning_rate, **kwargs)
