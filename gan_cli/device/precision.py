"""Numeric precision of training (``train.precision``): float32, mixed bfloat16, or ``auto``.

``mixed_bfloat16`` keeps every variable in float32 and computes layers in bfloat16 (Keras' dtype policy);
bfloat16 has float32's exponent range, so no loss scaling is needed. ``auto`` measures, once per device,
TensorFlow's matmul throughput in both (a 256x1024 by 1024x1024 product, alternated, ~2 s) and picks mixed
bfloat16 when it is at least ``AUTO_MARGIN`` times faster; the measurement is cached per
device (:mod:`gan_cli.device.cache`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import keras
import tensorflow as tf

from gan_cli.device.cache import device_name, measured

#: How much faster bfloat16 matmuls must be before ``auto`` trains in mixed bfloat16.
AUTO_MARGIN = 1.25


def matmul_gflops(dtype: str, seconds: float = 0.5) -> float:
    """GFLOP/s of a (256, 1024) x (1024, 1024) matmul in ``dtype``, repeated for about ``seconds``."""
    a, b = tf.random.normal((256, 1024), dtype=dtype), tf.random.normal((1024, 1024), dtype=dtype)
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)), autograph=False)
    product().numpy()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        product().numpy()
        count += 1
    return 2 * 256 * 1024 * 1024 * count / (time.perf_counter() - start) / 1e9


def measured_choice() -> dict[str, object]:
    """This device's float32 and bfloat16 matmul GFLOP/s and the precision ``auto`` picks (cached)."""
    def measure() -> dict[str, object]:
        fp32 = max(matmul_gflops("float32") for _ in range(2))
        bf16 = max(matmul_gflops("bfloat16") for _ in range(2))
        choice = "mixed_bfloat16" if bf16 >= AUTO_MARGIN * fp32 else "float32"
        return {"float32_gflops": round(fp32, 1), "bfloat16_gflops": round(bf16, 1), "choice": choice}

    return measured("precision", measure)


def resolve(precision: str) -> str:
    """``float32`` or ``mixed_bfloat16`` for a recipe's ``train.precision``."""
    return str(measured_choice()["choice"]) if precision == "auto" else precision


@contextlib.contextmanager
def float32_policy() -> Iterator[None]:
    """Build models in float32 whatever the training policy (the evaluators are measured in float32)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def apply(precision: str) -> str:
    """Set Keras' global dtype policy for a recipe's ``train.precision`` (before building its models);
    returns the policy set."""
    policy = resolve(precision)
    keras.mixed_precision.set_global_policy(policy)
    return policy


def describe(precision: str) -> str:
    """One line for ``--dry-run``: the policy, and for ``auto`` the measurement behind it."""
    if precision != "auto":
        return f"precision: {precision}"
    entry = measured_choice()
    return (f"precision: {entry['choice']} (auto: matmul {entry['bfloat16_gflops']} GFLOP/s in bfloat16 vs "
            f"{entry['float32_gflops']} in float32 on {device_name()})")
