"""Adversarial losses by recipe name, the targets they train towards, and D's score metrics."""

from __future__ import annotations

import keras
from keras import ops

from gan_cli.recipe import LossSpec


def adversarial_loss(spec: LossSpec, output_activation: str) -> keras.losses.Loss:
    """The loss both compiled models use.

    ``bce`` on a discriminator with a linear output reads its scores as logits
    (``from_logits=True``), which is the numerically stable form; with a sigmoid output it reads
    probabilities, as the tutorial does. ``least_squares`` is the LSGAN loss (mean squared error to
    the targets).
    """
    losses = {
        "bce": lambda: keras.losses.BinaryCrossentropy(from_logits=output_activation == "linear"),
        "least_squares": lambda: keras.losses.MeanSquaredError(),
    }
    return losses[spec.name]()


def real_target(spec: LossSpec) -> float:
    """The discriminator's target for real images: 1 - label_smoothing (one-sided smoothing)."""
    return 1.0 - spec.label_smoothing


class MeanScore(keras.metrics.Metric):
    """Mean discriminator score over the real (``real=True``) or fake half of a labelled batch.

    Real examples are those with a target above 0 (fakes are labelled 0). With ``logits=True`` the
    scores are passed through a sigmoid first, so the metric reads as a probability, D(x) or D(G(z)).
    """

    def __init__(self, real: bool, logits: bool = False, name: str | None = None) -> None:
        super().__init__(name=name or ("real_score" if real else "fake_score"))
        self.real = real
        self.logits = logits
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):  # type: ignore[no-untyped-def]
        scores = ops.sigmoid(y_pred) if self.logits else y_pred
        scores = ops.reshape(ops.cast(scores, "float32"), (-1,))
        targets = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        mask = ops.cast(targets > 0, "float32") if self.real else ops.cast(targets <= 0, "float32")
        self.total.assign_add(ops.sum(scores * mask))
        self.count.assign_add(ops.sum(mask))

    def result(self):  # type: ignore[no-untyped-def]
        return self.total / ops.maximum(self.count, 1.0)

    def reset_state(self) -> None:
        self.total.assign(0.0)
        self.count.assign(0.0)
