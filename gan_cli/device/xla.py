"""XLA compilation of the fused GAN step (``train.jit_compile``): true, false, or ``auto``.

XLA fuses a step's element-wise work (activations, dropout masks, optimizer updates) into few kernels, which
pays on GPUs and costs on some CPUs (see docs/performance.md). ``auto`` therefore times this device, once: a
small GAN-shaped update (a 784-512-256-1 MLP with LeakyReLU and dropout, Adam, batch 256, float32) traced with
and without XLA, alternated, the best of three windows each; XLA is chosen where it is at least
``AUTO_MARGIN`` times faster. The result is cached per device
(:mod:`gan_cli.device.cache`). Under ``train.distribute`` ``auto`` means off: the measurement is of one device;
under ``tpu`` the fused step never asks for XLA, because TPUStrategy compiles every step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from gan_cli.device.cache import device_name, measured

#: How much faster the XLA-compiled update must be before ``auto`` compiles the fused step with XLA.
AUTO_MARGIN = 1.1
WINDOW_SECONDS = 0.3


def _update(jit_compile: bool) -> Callable[[], Any]:
    """One traced training update of a small float32 MLP discriminator, XLA-compiled or not."""
    layers: list[Any] = [keras.Input((784,))]
    for width in (512, 256):
        layers += [keras.layers.Dense(width, dtype="float32"), keras.layers.LeakyReLU(0.2, dtype="float32"),
                   keras.layers.Dropout(0.3, seed=0, dtype="float32")]
    model = keras.Sequential([*layers, keras.layers.Dense(1, dtype="float32")])
    optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
    optimizer.build(model.trainable_variables)
    images = tf.random.stateless_normal((256, 784), seed=[0, 1])
    targets = tf.concat([tf.fill((128, 1), 0.9), tf.zeros((128, 1))], axis=0)

    def update() -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(images, training=True) - targets))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    return tf.function(update, autograph=False, jit_compile=jit_compile)


def _window_ms(update: Callable[[], Any]) -> float:
    """Milliseconds per update in one window of ``WINDOW_SECONDS``."""
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < WINDOW_SECONDS:
        update().numpy()
        count += 1
    return (time.perf_counter() - start) * 1000 / count


def measure() -> dict[str, Any]:
    """Time the update with and without XLA on this device (compiling each first): ms per update of each,
    and whether XLA wins by ``AUTO_MARGIN``."""
    plain, compiled = _update(False), _update(True)
    plain().numpy()
    compiled().numpy()
    plain_ms, xla_ms = float("inf"), float("inf")
    for _ in range(3):  # alternated, so a busy moment of the machine does not decide alone
        plain_ms = min(plain_ms, _window_ms(plain))
        xla_ms = min(xla_ms, _window_ms(compiled))
    return {"ms_per_update": round(plain_ms, 3), "xla_ms_per_update": round(xla_ms, 3),
            "choice": plain_ms >= AUTO_MARGIN * xla_ms}


def measured_choice() -> dict[str, Any]:
    """This device's XLA measurement and choice (measured once, then cached)."""
    return measured("xla", measure)


def resolve(jit_compile: bool | str, distribute: str = "none") -> bool:
    """Whether the fused step asks for XLA, for a recipe's ``train.jit_compile`` and ``train.distribute``:
    never under ``tpu`` (TPUStrategy compiles every step itself), ``auto`` only on one device."""
    if distribute == "tpu":
        return False
    if jit_compile == "auto":
        return distribute == "none" and bool(measured_choice()["choice"])
    return bool(jit_compile)


def describe(jit_compile: bool | str, distribute: str = "none") -> str:
    """One line for ``--dry-run``: whether XLA is on, and for ``auto`` the measurement behind it."""
    if distribute == "tpu":
        return "xla: on (TPUStrategy compiles every step)"
    if jit_compile != "auto":
        return f"xla: {'on' if jit_compile else 'off'} (train.jit_compile: {str(jit_compile).lower()})"
    if distribute != "none":
        return "xla: off (auto: not measured under train.distribute; set train.jit_compile: true to try it)"
    entry = measured_choice()
    return (f"xla: {'on' if entry['choice'] else 'off'} (auto: a small update {entry['xla_ms_per_update']} ms "
            f"with XLA vs {entry['ms_per_update']} ms without on {device_name()})")
