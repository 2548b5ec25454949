"""Guarded training: divergence stops or rolls back, recipe changes on resume are refused unless allowed and then
recorded, and no model file can run code."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from gan_cli.cli import cli
from gan_cli.families.gan import GanModels
from gan_cli.runs.checkpoints import committed_checkpoints

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def poison_generator_at(monkeypatch: pytest.MonkeyPatch, call: int) -> None:
    """Make the generator's first kernel NaN once, during training call number ``call``."""
    original = GanModels.train_steps
    calls = {"n": 0}

    def poisoned(self: GanModels, *args: object) -> list[dict[str, float]]:
        calls["n"] += 1
        if calls["n"] == call:
            kernel = self.generator.trainable_variables[0]
            kernel.assign(np.full(kernel.shape, np.nan, np.float32))
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(GanModels, "train_steps", poisoned)


def checkpoint_tensor(prefix: Path, fragment: str) -> np.ndarray:
    """A tensor of the checkpoint by a fragment of its name (optimizer variables: 0 iterations, 1 learning rate)."""
    reader = tf.train.load_checkpoint(str(prefix))
    name = next(n for n in reader.get_variable_to_shape_map() if fragment in n)
    return reader.get_tensor(name)


def test_divergence_stops_and_never_saves_nan(tiny_recipe: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    poison_generator_at(monkeypatch, 12)  # in epoch 2
    run = tmp_path / "run"
    code, output = invoke("train", tiny_recipe, "--out", run, "--set", "train.epochs=3")
    assert code == 1 and "training diverged" in output and "health.on_divergence=rollback" in output
    assert "ckpt-8 is kept" in output and "Traceback" not in output
    assert [step for step, _, _ in committed_checkpoints(run / "checkpoints")] == [8]
    with (run / "metrics.csv").open() as handle:
        assert "stopped" in list(csv.DictReader(handle))[-1]["health"]


def test_rollback_restores_the_last_good_checkpoint_with_lower_learning_rates(
        tiny_recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_generator_at(monkeypatch, 12)
    run = tmp_path / "run"
    code, output = invoke("train", tiny_recipe, "--out", run, "--set", "train.epochs=3",
                          "--set", "health.on_divergence=rollback", "--set", "health.rollback_lr_factor=0.25")
    assert code == 0, output
    assert "rolled back to step 8 with learning rates x0.25 (rollback 1 of 3)" in output
    with (run / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [8, 16, 16, 24] and "rolled back" in rows[1]["health"]
    step, prefix, manifest = committed_checkpoints(run / "checkpoints")[0]
    assert step == 24 and manifest["loop"]["rollbacks"] == 1 and manifest["loop"]["lr_scale"] == 0.25
    # the optimizers train at a quarter of the recipe's 2e-4 from the rollback on
    assert checkpoint_tensor(prefix, "g_optimizer/1/") == pytest.approx(5e-5)
    assert checkpoint_tensor(prefix, "d_optimizer/1/") == pytest.approx(5e-5)
    # the scale survives a resume
    monkeypatch.undo()
    code, output = invoke("train", run, "--resume", "--set", "train.epochs=4")
    assert code == 0, output
    prefix = committed_checkpoints(run / "checkpoints")[0][1]
    assert checkpoint_tensor(prefix, "g_optimizer/1/") == pytest.approx(5e-5)


def test_rollbacks_are_bounded(tiny_recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = GanModels.train_steps

    def always_poisoned(self: GanModels, *args: object) -> list[dict[str, float]]:
        if int(self.g_optimizer.iterations.numpy()) >= 8:
            kernel = self.generator.trainable_variables[0]
            kernel.assign(np.full(kernel.shape, np.nan, np.float32))
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(GanModels, "train_steps", always_poisoned)
    code, output = invoke("train", tiny_recipe, "--out", tmp_path / "run", "--set", "train.epochs=3",
                          "--set", "health.on_divergence=rollback", "--set", "health.max_rollbacks=2")
    assert code == 1 and output.count("rolled back to step 8") == 2
    assert "training diverged after 2 rollbacks" in output


def test_resume_refuses_changes_unless_allowed_and_records_them(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert invoke("train", tiny_recipe, "--out", run, "--set", "train.epochs=1")[0] == 0
    change = ["--set", "optimizers.generator.learning_rate=0.001", "--set", "train.epochs=2"]
    code, output = invoke("train", run, "--resume", *change)
    assert code == 1 and "optimizers.generator.learning_rate" in output
    assert "--allow-changes optimizers.generator.learning_rate" in output
    code, output = invoke("train", run, "--resume", *change,
                          "--allow-changes", "optimizers.generator.learning_rate,loss")
    assert code == 1 and "--allow-changes loss: the resumed recipe does not change" in output
    code, output = invoke("train", run, "--resume", *change, "--allow-changes", "optimizers.generator")
    assert code == 0, output
    [entry] = json.loads((run / "changes.json").read_text())
    assert entry["step"] == 8
    assert entry["changes"]["optimizers.generator.learning_rate"] == {"from": 0.0002, "to": 0.001}
    assert entry["changes"]["train.epochs"] == {"from": 1, "to": 2}
    prefix = committed_checkpoints(run / "checkpoints")[0][1]
    assert checkpoint_tensor(prefix, "g_optimizer/1/") == pytest.approx(1e-3)  # the new rate trained


def test_a_model_file_with_a_lambda_layer_is_refused(tmp_path: Path) -> None:
    inputs = keras.Input((8,))
    images = keras.layers.Reshape((2, 2, 2))(keras.layers.Lambda(lambda x: x * 2)(inputs))
    keras.Model(inputs, keras.layers.Dense(1)(images)).save(tmp_path / "crafted.keras")
    code, output = invoke("sample", tmp_path / "crafted.keras", "--out", tmp_path / "x.png")
    assert code == 1 and "Lambda" in output and "refused" in output and "Traceback" not in output
    assert len(output.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("recipe", ["digits_gan", "cgan_digits", "infogan_digits", "pix2pix_digits",
                                    "cyclegan_digits"])
def test_no_saved_model_holds_a_lambda_layer(recipe: str, tmp_path: Path) -> None:
    """Also the shipped recipes' own networks training a step (the translation ones at full size)."""
    run = tmp_path / "run"
    code, output = invoke("train", REPO / "recipes" / f"{recipe}.yaml", "--out", run, "--set", "train.steps=1",
                          "--set", "train.epochs=1", "--set", "eval.every=null")
    assert code == 0 and "done: 1 steps" in output, output
    for path in run.rglob("*.keras"):
        with zipfile.ZipFile(path) as archive:
            assert '"Lambda"' not in archive.read("config.json").decode(), path


def test_arrays_are_never_loaded_with_pickle() -> None:
    for path in (REPO / "gan_cli").rglob("*.py"):
        for call in re.findall(r"np\.load\([^)]*\)", path.read_text()):
            assert "allow_pickle=False" in call, f"{path}: {call}"
