"""Adversarial objectives and the WGAN-GP gradient penalty."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_cli.families.losses import GradientNorm, adversarial, interpolate, penalty_loss, wasserstein
from gan_cli.recipe.schema import LossSpec


def linear_critic(weights: np.ndarray) -> keras.Model:
    image = keras.Input((2, 2, 1))
    dense = keras.layers.Dense(1, use_bias=False)
    model = keras.Model(image, dense(keras.layers.Flatten()(image)))
    dense.kernel.assign(weights.reshape(4, 1))
    return model


def test_one_lipschitz_linear_critic_has_no_penalty() -> None:
    unit = np.array([0.5, 0.5, 0.5, 0.5], np.float32)  # ||w|| = 1
    images = tf.constant(np.random.default_rng(0).normal(size=(8, 2, 2, 1)).astype("float32"))
    norms = GradientNorm(linear_critic(unit))(images)
    np.testing.assert_allclose(norms.numpy(), 1.0, rtol=1e-5)
    assert float(np.mean(penalty_loss(None, norms))) == pytest.approx(0.0, abs=1e-8)
    doubled = GradientNorm(linear_critic(2 * unit))(images)
    assert float(np.mean(penalty_loss(None, doubled))) == pytest.approx(1.0, rel=1e-5)


def test_gradient_norm_is_guarded_at_zero() -> None:
    critic = linear_critic(np.zeros(4, np.float32))
    images = tf.constant(np.ones((3, 2, 2, 1), np.float32))
    layer = GradientNorm(critic)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(penalty_loss(None, layer(images, training=True)))
    gradients = tape.gradient(loss, critic.trainable_weights)
    assert float(loss) == pytest.approx(1.0, rel=1e-5)
    assert all(np.isfinite(g.numpy()).all() for g in gradients)


def test_interpolation_weight_is_uniform_per_example() -> None:
    real = tf.ones((4000, 2, 2, 1))
    fake = tf.zeros((4000, 2, 2, 1))
    mixed = interpolate(real, fake, tf.constant([1, 2], tf.int64)).numpy()
    per_example = mixed.reshape(4000, -1)
    assert np.allclose(per_example, per_example[:, :1])  # one weight per example, shared by its pixels
    weights = per_example[:, 0]
    assert weights.min() >= 0.0 and weights.max() <= 1.0
    assert abs(weights.mean() - 0.5) < 0.02 and abs(weights.var() - 1 / 12) < 0.01  # uniform, not normal


@pytest.mark.parametrize("name, real, fake, g", [("bce", 0.9, 0.0, 1.0), ("least_squares", 0.9, 0.0, 1.0),
                                                  ("wasserstein", -1.0, 1.0, -1.0), ("hinge", 1.0, -1.0, -1.0)])
def test_targets(name: str, real: float, fake: float, g: float) -> None:
    objective = adversarial(LossSpec(name=name, label_smoothing=0.1 if name in ("bce", "least_squares") else 0.0),
                            "linear")
    assert (objective.real_target, objective.fake_target, objective.g_target) == (real, fake, g)


def test_wasserstein_and_hinge_values() -> None:
    scores = tf.constant([[2.0], [-1.0]])
    assert float(tf.reduce_mean(wasserstein(tf.constant([[-1.0], [1.0]]), scores))) == pytest.approx(-1.5)
    hinge = adversarial(LossSpec(name="hinge", label_smoothing=0.0), "linear")
    # real score 2 (target +1): max(0, 1 - 2) = 0; fake score -1 (target -1): max(0, 1 - 1) = 0
    assert float(hinge.d_loss(tf.constant([[1.0], [-1.0]]), scores)) == pytest.approx(0.0)
    assert float(hinge.d_loss(tf.constant([[1.0]]), tf.constant([[0.0]]))) == pytest.approx(1.0)
