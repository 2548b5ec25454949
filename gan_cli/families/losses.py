"""Adversarial losses by recipe name, the targets they train towards, D's score metrics, and the
gradient penalties (WGAN-GP, R1).

Every loss is written as a Keras loss on (target, score), so D and the combined model are compiled
and trained with ``train_on_batch`` exactly as the tutorial does; only the targets change:

=============  ===========================  ==========  ==========  ==========
name           loss(target y, score s)      real y      fake y      G's y
=============  ===========================  ==========  ==========  ==========
bce            binary cross-entropy          1 - smooth  0           1
least_squares  mean (s - y)²  (LSGAN)        1 - smooth  0           1
wasserstein    mean y·s  (WGAN critic)       -1          +1          -1
hinge          D: mean max(0, 1 - y·s)       +1          -1          -1 (G: mean y·s)
=============  ===========================  ==========  ==========  ==========
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf
from keras import ops

from gan_cli.recipe.schema import LossSpec


def wasserstein(y_true: Any, y_pred: Any) -> Any:
    """Mean of target x score: with targets -1 (real) and +1 (fake) the critic's loss
    E[D(G(z))] - E[D(x)]; with target -1 for G, the generator's loss -E[D(G(z))]."""
    return ops.mean(ops.cast(y_true, y_pred.dtype) * y_pred, axis=-1)


@dataclass(frozen=True)
class Adversarial:
    """The losses and targets of one adversarial objective."""

    d_loss: Any
    g_loss: Any
    real_target: float
    fake_target: float
    g_target: float
    probabilities: bool  # True when D's scores read as probabilities (after a sigmoid for logits)


def adversarial(spec: LossSpec, output_activation: str) -> Adversarial:
    """The objective a recipe's ``loss`` section names.

    ``bce`` on a discriminator with a linear output reads its scores as logits (``from_logits=True``),
    the numerically stable form; with a sigmoid output it reads probabilities, as the tutorial does.
    """
    smooth_real = 1.0 - spec.label_smoothing
    if spec.name == "bce":
        bce = keras.losses.BinaryCrossentropy(from_logits=output_activation == "linear")
        return Adversarial(bce, bce, smooth_real, 0.0, 1.0, probabilities=True)
    if spec.name == "least_squares":
        mse = keras.losses.MeanSquaredError()
        return Adversarial(mse, mse, smooth_real, 0.0, 1.0, probabilities=False)
    if spec.name == "wasserstein":
        return Adversarial(wasserstein, wasserstein, -1.0, 1.0, -1.0, probabilities=False)
    return Adversarial(keras.losses.Hinge(), wasserstein, 1.0, -1.0, -1.0, probabilities=False)


class MeanScore(keras.metrics.Metric):
    """Mean discriminator score over the real (``real=True``) or fake part of a labelled batch.

    Real examples are those whose target equals ``real_target``. With ``logits=True`` the scores pass
    through a sigmoid first, so the metric reads as a probability, D(x) or D(G(z)).
    """

    def __init__(self, real: bool, real_target: float, logits: bool = False, name: str | None = None) -> None:
        super().__init__(name=name or ("real_score" if real else "fake_score"))
        self.real = real
        self.real_target = real_target
        self.logits = logits
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):  # type: ignore[no-untyped-def]
        values = ops.reshape(ops.cast(self._values(y_pred), "float32"), (-1,))
        is_real = ops.abs(ops.reshape(ops.cast(y_true, "float32"), (-1,)) - self.real_target) < 1e-6
        mask = ops.cast(is_real if self.real else ops.logical_not(is_real), "float32")
        self.total.assign_add(ops.sum(values * mask))
        self.count.assign_add(ops.sum(mask))

    def _values(self, y_pred):  # type: ignore[no-untyped-def]
        """What is averaged: the scores (as probabilities for logits)."""
        return ops.sigmoid(y_pred) if self.logits else y_pred

    def result(self):  # type: ignore[no-untyped-def]
        return self.total / ops.maximum(self.count, 1.0)

    def reset_state(self) -> None:
        self.total.assign(0.0)
        self.count.assign(0.0)


class RealSign(MeanScore):
    """ADA's overfitting statistic: the mean over the real part of a labelled batch of sign(score - midpoint), where
    the midpoint lies between the real and fake targets (0 for logits, wasserstein and hinge scores). Near 1: D
    calls nearly every real image real (it has begun to memorise them); near 0: it cannot tell."""

    def __init__(self, real_target: float, midpoint: float, name: str = "real_sign") -> None:
        super().__init__(True, real_target, name=name)
        self.midpoint = midpoint

    def _values(self, y_pred):  # type: ignore[no-untyped-def]
        return ops.sign(ops.cast(y_pred, "float32") - self.midpoint)


def score_midpoint(objective: Adversarial, logits: bool) -> float:
    """The score halfway between real and fake for D's raw output: 0 for logits and for the ±1 objectives, else
    the middle of the (unsmoothed) targets 1 and 0."""
    return 0.0 if logits or objective.fake_target != 0.0 else 0.5


#: Added under the square root so the norm's gradient stays finite where D's gradient is 0.
NORM_EPSILON = 1e-12


class GradientNorm(keras.layers.Layer):
    """||∇ₓ D(x)||₂ per example, for the WGAN-GP and R1 penalties; D's weights are shared, not copied.

    Used inside D's compiled update model, so the penalty is just another output with the loss
    (norm - 1)² (``penalty_loss``) and the weight λ, or ||∇||² (``r1_loss``) and the weight γ/2.

    Lazy regularization (``every`` = k > 1, StyleGAN2): ``active()`` says whether this D update is penalized
    (a boolean tensor, read where the layer runs, e.g. from D's optimizer's ``iterations``); on those updates
    the norm comes out multiplied by √k, so a squared-norm loss is weighted k times, and on the others the
    output is 0 and ``tf.cond`` skips the gradient computation (and its double backprop) altogether.
    ``active`` is a plain callable, not a Keras variable: the state it reads is checkpointed where it lives.

    Called on ``images`` or on ``[images, labels]`` (a conditional D): the gradient is taken with respect to the
    images only, each scored with its own label.
    """

    def __init__(self, critic: keras.Model, every: int = 1, active: Callable[[], Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if every > 1 and active is None:
            raise ValueError("GradientNorm: every > 1 needs an active() callable")
        self.critic = critic
        self.every = every
        self._active = active if every > 1 else None

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        images, *labels = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if self._active is None:  # every == 1
            return self._norm(images, labels, training)
        scale = self.every ** 0.5
        return tf.cond(self._active(),
                       lambda: self._norm(images, labels, training) * tf.cast(scale, images.dtype),
                       lambda: tf.zeros((tf.shape(images)[0], 1), images.dtype))

    def _norm(self, images: Any, labels: list[Any], training: bool | None) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(images)
            scores = self.critic([images, *labels] if labels else images, training=training)
        gradients = tape.gradient(scores, images)
        squared = tf.reduce_sum(tf.reshape(tf.square(gradients), (tf.shape(gradients)[0], -1)), axis=1)
        return tf.sqrt(squared + NORM_EPSILON)[:, None]

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, int]:
        images = input_shape[0] if isinstance(input_shape[0], (list, tuple)) else input_shape
        return (images[0], 1)


def penalty_loss(y_true: Any, norm: Any) -> Any:
    """(||∇D|| - 1)², the two-sided penalty of Gulrajani et al. 2017 (targets are ignored)."""
    return ops.mean(ops.square(norm - 1.0), axis=-1)


def r1_loss(y_true: Any, norm: Any) -> Any:
    """||∇D(x)||² on real images (R1; the recipe's weight is γ/2, targets are ignored)."""
    return ops.mean(ops.square(norm), axis=-1)


def interpolate(real: tf.Tensor, fake: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Random points on the lines between real and fake images: one weight per example, uniform in
    [0, 1] (not normal, as some public examples have it), drawn statelessly from ``seed``."""
    shape = tf.concat([tf.shape(real)[:1], tf.ones(tf.rank(real) - 1, tf.int32)], axis=0)
    weight = tf.random.stateless_uniform(shape, seed=seed, minval=0.0, maxval=1.0)
    return weight * real + (1.0 - weight) * fake


def information_loss(categorical: int, continuous_weight: float) -> Any:
    """InfoGAN's mutual-information term as a Keras loss on (codes, Q's output), both laid out as
    [c1 (K), c (n)]: cross-entropy of c1's logits to the one-hot code, plus ``continuous_weight`` x the
    squared error of c's means (a Gaussian log-likelihood with fixed variance)."""

    def loss(y_true: Any, y_pred: Any) -> Any:
        y_true = ops.cast(y_true, y_pred.dtype)
        cross_entropy = keras.losses.categorical_crossentropy(y_true[:, :categorical], y_pred[:, :categorical],
                                                              from_logits=True)
        if y_pred.shape[-1] == categorical:
            return cross_entropy
        squared = ops.mean(ops.square(y_true[:, categorical:] - y_pred[:, categorical:]), axis=-1)
        return cross_entropy + continuous_weight * squared

    return loss
