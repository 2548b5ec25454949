"""Shared fixtures: tiny recipes that train in seconds on the bundled digits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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
