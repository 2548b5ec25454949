"""Optimizers by recipe name; parameters left null take Keras' own defaults."""

from __future__ import annotations

import keras
import tensorflow as tf

from gan_cli.recipe.schema import OPTIMIZER_PARAMS, OptimizerSpec


def _handle(variable):  # type: ignore[no-untyped-def]
    """The TensorFlow resource handle of a Keras (or tf) variable; inside ``tf.distribute`` updates, the
    handle of this replica's copy."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


@keras.saving.register_keras_serializable(package="gan_cli")
class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam: the same slots, hyper-parameters, counter, checkpoints and arithmetic
    (``m += (g - m)(1 - b1)``, ``v += (g² - v)(1 - b2)``, ``w -= lr·sqrt(1 - b2^t)/(1 - b1^t) · m/(sqrt(v) + eps)``),
    but each variable's update is TensorFlow's fused ``ResourceApplyAdam`` kernel: one pass over the
    weights and slots instead of about ten element-wise ops, each a pass of its own (faster; figures in
    docs/performance.md, "Fused Adam"). AMSGrad, sparse gradients and non-float32 variables take Keras' own path."""

    def update_step(self, gradient, variable, learning_rate):  # type: ignore[no-untyped-def]
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices) or variable.dtype != "float32":
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, tf.float32)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]), v=_handle(self._velocities[index]),
            beta1_power=tf.pow(tf.cast(self.beta_1, tf.float32), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, tf.float32), step),
            lr=tf.cast(learning_rate, tf.float32), beta1=tf.cast(self.beta_1, tf.float32),
            beta2=tf.cast(self.beta_2, tf.float32), epsilon=tf.cast(self.epsilon, tf.float32),
            grad=tf.cast(gradient, tf.float32))
        return None


OPTIMIZERS = {
    "adam": FusedAdam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}


@keras.saving.register_keras_serializable(package="gan_cli")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The pix2pix/CycleGAN schedule: ``rate`` until update ``start``, then linearly down to 0 at update
    ``total``. It reads the optimizer's own update counter, which checkpoints keep, so a resumed run
    continues at the same rate. ``scale`` (a variable, 1 at first) multiplies it: divergence rollbacks
    lower it."""

    def __init__(self, rate: float, start: int, total: int) -> None:
        self.rate, self.start, self.total = float(rate), int(start), int(total)
        self.scale = tf.Variable(1.0, trainable=False, dtype=tf.float32, name="learning_rate_scale")

    def __call__(self, step):  # type: ignore[no-untyped-def]
        step = keras.ops.cast(step, "float32")
        span = float(max(self.total - self.start, 1))
        left = keras.ops.clip((self.total - step) / span, 0.0, 1.0)
        return self.rate * keras.ops.convert_to_tensor(self.scale) * keras.ops.where(step < self.start, 1.0, left)

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


def set_learning_rates(optimizers: dict[str, list[keras.optimizers.Optimizer]], rates: dict[str, float],
                       scale: float) -> None:
    """Set every optimizer's learning rate to ``rates[role] * scale`` (for a :class:`LinearDecay`, its scale).

    Called after a checkpoint is restored, so the recipe's rates (which a resume may change) and the rollbacks'
    scale apply rather than the rates the checkpoint saved.
    """
    for role, group in optimizers.items():
        for optimizer in group:
            schedule = optimizer._learning_rate
            if isinstance(schedule, LinearDecay):
                schedule.scale.assign(scale)
            else:
                optimizer.learning_rate = rates[role] * scale
