"""train.distribute: MirroredStrategy over two logical CPUs gives the single-device result for the same
global batch, and what cannot be distributed yet is refused in the recipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from gan_cli.errors import RecipeError
from gan_cli.recipe import parse_recipe

REPO = Path(__file__).resolve().parents[1]


def train(out: Path, *sets: str, cpus: int = 1) -> str:
    env = {**os.environ, "GAN_LOGICAL_CPUS": str(cpus)}
    args = [sys.executable, "-m", "gan_cli", "train", str(REPO / "recipes" / "digits_gan.yaml"), "--out", str(out),
            "--no-progress", "--set", "train.steps=30", "--set", "discriminator.dropout=0",
            "--set", "train.precision=float32"]
    for value in sets:
        args += ["--set", value]
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def checkpoint(run: Path) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(str(run / "checkpoints"))
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()
            if not n.startswith(("_CHECKPOINTABLE", "save_counter"))}


def test_mirrored_on_two_cpus_matches_one_device_at_the_same_global_batch(tmp_path: Path) -> None:
    output = train(tmp_path / "mirrored", "train.distribute=mirrored", "train.batch_size=32", cpus=2)
    assert "done: 30 steps" in output
    train(tmp_path / "single", "train.batch_size=64")
    a, b = checkpoint(tmp_path / "mirrored"), checkpoint(tmp_path / "single")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-6, err_msg=key)
    assert (tmp_path / "mirrored" / "generator.keras").is_file()


@pytest.mark.parametrize("data, key", [
    ({"discriminator": {"clip_value": 0.01}}, "train.distribute"),
    ({"family": "pix2pix", "data": {"source": "digits", "task": "edges"}, "generator": {"architecture": "unet"},
      "discriminator": {"architecture": "patchgan"}}, "train.distribute"),
])
def test_what_cannot_be_distributed_yet_is_refused(data: dict, key: str) -> None:
    with pytest.raises(RecipeError, match=key.replace(".", r"\.")):
        parse_recipe({**data, "train": {"distribute": "mirrored"}})


def test_multi_worker_needs_tf_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_cli.distribute import make_strategy

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(RecipeError, match="TF_CONFIG"):
        make_strategy("multi_worker")
