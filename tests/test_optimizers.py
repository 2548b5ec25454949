"""The optimizers recipes name: the fused Adam makes Keras' Adam updates."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_cli.families.optimizers import FusedAdam, LinearDecay


def _train(optimizer: keras.optimizers.Optimizer, steps: int = 5) -> list[np.ndarray]:
    """Weights and slots after ``steps`` updates of a small Dense net from fixed weights and gradients."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5), keras.layers.Dense(1)])
    rng = np.random.default_rng(0)

    @tf.function(autograph=False)
    def update(grads: list[tf.Tensor]) -> None:
        optimizer.apply(grads, model.trainable_variables)

    for _ in range(steps):
        update([tf.constant(rng.normal(size=v.shape), tf.float32) for v in model.trainable_variables])
    return [np.array(v) for v in model.trainable_variables + optimizer.variables]


@pytest.mark.parametrize("rate", [2e-3, LinearDecay(2e-3, 2, 6)])
def test_fused_adam_makes_keras_adams_updates(rate: float | LinearDecay) -> None:
    fused = _train(FusedAdam(learning_rate=rate, beta_1=0.5, epsilon=1e-7))
    plain = _train(keras.optimizers.Adam(learning_rate=rate, beta_1=0.5, epsilon=1e-7))
    assert len(fused) == len(plain)
    for ours, keras_own in zip(fused, plain):
        np.testing.assert_allclose(ours, keras_own, rtol=1e-5, atol=1e-7)
    assert not np.allclose(fused[0], _train(FusedAdam(learning_rate=rate), steps=0)[0])


def test_fused_adam_takes_keras_path_for_amsgrad() -> None:
    fused = _train(FusedAdam(learning_rate=1e-2, amsgrad=True))
    plain = _train(keras.optimizers.Adam(learning_rate=1e-2, amsgrad=True))
    for ours, keras_own in zip(fused, plain):
        np.testing.assert_allclose(ours, keras_own, rtol=1e-6, atol=1e-7)
