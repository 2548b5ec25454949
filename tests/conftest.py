"""Shared fixtures: tiny recipes that train in seconds on the bundled digits."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Exact-resume tests compare runs bit for bit; without this, TensorFlow's CPU kernels may split reductions
# differently when the machine is busy, and Adam/RMSprop magnify those last-bit differences.
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

REPO = Path(__file__).resolve().parents[1]

#: A digits GAN small enough for a few epochs per test: 256 images, batch 32 -> 8 steps per epoch.
TINY_RECIPE = """\
# a tiny digits GAN for tests
name: tiny
seed: 3
data: {source: digits, limit: 256}
generator: {latent_dim: 8, widths: [16, 32]}
discriminator: {widths: [32, 16]}
train: {epochs: 2, batch_size: 32, batch_selection: shuffle}
sampling: {grid: 4x4, every_epochs: 1}
checkpoints: {every_epochs: 1, keep: 2}
"""


#: A pix2pix small enough for a few epochs per test: edges -> digits, 64 images.
TINY_PIX2PIX = """\
# tiny pix2pix for tests
family: pix2pix
seed: 1
data: {source: digits, task: edges, limit: 64}
generator: {architecture: unet, widths: [8, 16, 16], kernel_size: 4, dropout: 0.5}
discriminator: {architecture: patchgan, widths: [8, 16], kernel_size: 4, output_activation: linear, dropout: 0}
loss: {name: bce, label_smoothing: 0}
train: {epochs: 2, batch_size: 16, batch_selection: shuffle}
sampling: {grid: [4, 3], every_epochs: 1}
"""


def gan_process(*args: object, **kwargs: object) -> subprocess.Popen[str]:
    """A real ``gan`` process (``python -m gan_cli ARGS``), stdout and stderr together as text."""
    return subprocess.Popen([sys.executable, "-m", "gan_cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)  # type: ignore[call-overload]


def finish_gan(*args: object) -> str:
    """Run ``gan ARGS`` to the end and return its output; it must succeed."""
    process = gan_process(*args)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output
    return output


def checkpoint_tensors(run: Path) -> dict[str, Any]:
    """Every tensor of a run's newest committed checkpoint (by its manifest), bookkeeping left out."""
    import tensorflow as tf

    from gan_cli.runs.run_dir import committed_checkpoints

    reader = tf.train.load_checkpoint(str(committed_checkpoints(run / "checkpoints")[0][1]))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if not name.startswith(("_CHECKPOINTABLE", "save_counter"))}


def assert_same_checkpoint(a: Path, b: Path, *, exact: bool = True, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """The newest checkpoints of runs ``a`` and ``b`` hold the same tensors: bit for bit (``exact``), or within
    ``rtol``/``atol`` where the caller names why the computation is not bitwise reproducible. A failure counts
    every tensor that differs and names up to 8 with their largest difference, not only the first."""
    import numpy as np

    ta, tb = checkpoint_tensors(a), checkpoint_tensors(b)
    assert ta.keys() == tb.keys(), sorted(set(ta) ^ set(tb))
    differ = []
    for name in sorted(ta):
        x, y = np.asarray(ta[name]), np.asarray(tb[name])
        same = np.array_equal(x, y) if exact else x.shape == y.shape and np.allclose(x, y, rtol=rtol, atol=atol)
        if not same:
            numeric = x.shape == y.shape and x.dtype.kind in "biuf" and x.size
            gap = float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) if numeric else "n/a"
            differ.append(f"{name} (max |diff| {gap})")
    assert not differ, (f"{len(differ)} of {len(ta)} tensors differ "
                        f"({'bit for bit' if exact else f'rtol={rtol}, atol={atol}'}): " + "; ".join(differ[:8])
                        + ("; ..." if len(differ) > 8 else ""))


def _history_names(value: Any) -> Iterator[str]:
    """The names of the layers whose outputs a serialized call argument refers to."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            yield value["config"]["keras_history"][0]
        else:
            for item in value.values():
                yield from _history_names(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _history_names(item)


def layer_inputs(model: Any) -> dict[str, set[str]]:
    """Each layer of a functional ``model`` -> the names of the layers whose outputs it takes (from its config)."""
    return {layer["name"]: set(_history_names(layer.get("inbound_nodes", [])))
            for layer in model.get_config()["layers"]}


@pytest.fixture
def tiny_recipe(tmp_path: Path) -> Path:
    """Path of a tiny digits recipe in a temporary folder."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_RECIPE)
    return path


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Evaluators built by tests go to a temporary cache, never the user's ~/.cache."""
    os.environ["GAN_CACHE_DIR"] = str(tmp_path_factory.mktemp("gan-cache"))


@pytest.fixture(autouse=True)
def _float32_policy() -> Iterator[None]:
    """Training sets Keras' global dtype policy (train.precision); tests that build models directly start
    from float32."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")
