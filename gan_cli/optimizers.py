"""Optimizers by recipe name; parameters left null take Keras' own defaults."""

from __future__ import annotations

import keras

from gan_cli.recipe import OPTIMIZER_PARAMS, OptimizerSpec

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}


@keras.saving.register_keras_serializable(package="gan_cli")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The pix2pix/CycleGAN schedule: ``rate`` until update ``start``, then linearly down to 0 at update
    ``total``. It reads the optimizer's own update counter, which checkpoints keep, so a resumed run
    continues at the same rate."""

    def __init__(self, rate: float, start: int, total: int) -> None:
        self.rate, self.start, self.total = float(rate), int(start), int(total)

    def __call__(self, step):  # type: ignore[no-untyped-def]
        step = keras.ops.cast(step, "float32")
        span = float(max(self.total - self.start, 1))
        left = keras.ops.clip((self.total - step) / span, 0.0, 1.0)
        return self.rate * keras.ops.where(step < self.start, 1.0, left)

    def get_config(self) -> dict[str, float | int]:
        return {"rate": self.rate, "start": self.start, "total": self.total}


def make_optimizer(spec: OptimizerSpec, decay: tuple[int, int] | None = None) -> keras.optimizers.Optimizer:
    """A new optimizer instance (each compiled model needs its own in Keras 3).

    Args:
        spec: the recipe's optimizer.
        decay: ``(start, total)`` updates of a :class:`LinearDecay` of the learning rate; None = constant.
    """
    kwargs = {name: getattr(spec, name) for name in OPTIMIZER_PARAMS[spec.name]
              if getattr(spec, name) is not None}
    rate = spec.learning_rate if decay is None or decay[0] >= decay[1] else LinearDecay(spec.learning_rate, *decay)
    return OPTIMIZERS[spec.name](learning_rate=rate, **kwargs)
