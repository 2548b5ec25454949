"""``gan train`` and ``gan sample`` end to end through the CLI, on the bundled digits."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from conftest import assert_same_checkpoint
from PIL import Image

from gan_cli.cli import cli


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def train_ok(*args: str) -> str:
    code, output = invoke("train", *args)
    assert code == 0, output
    return output


def checkpoint_values(run: Path) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(str(run / "checkpoints"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if not name.startswith(("_CHECKPOINTABLE", "save_counter"))}


def test_train_writes_a_complete_run_directory(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    output = train_ok(tiny_recipe, "--out", run)
    assert "epoch 2/2" in output and "D(G(z))" in output
    for name in ("recipe.yaml", "metrics.csv", "summary.json", "loss_curves.png", "generator.keras"):
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    grid = np.asarray(Image.open(run / "samples" / "epoch_0002.png"))
    assert grid.shape[0] > 4 * 8 and grid.std() > 0
    with (run / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2] and [int(r["step"]) for r in rows] == [8, 16]
    assert all(np.isfinite(float(r[k])) for r in rows for k in ("d_loss", "g_loss", "d_real", "d_fake"))
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["steps"], summary["epochs"], summary["finished"]) == (16, 2, True)
    assert summary["seconds"] > 0 and summary["ms_per_step"] > 0
    assert summary["ms_per_step_note"].startswith("median over this invocation's steps after the first step "
                                                  "(a run of 16 steps;"), summary["ms_per_step_note"]
    # checkpoints hold both models, both optimizers, the counters and the fixed latents
    names = checkpoint_values(run)
    for prefix in ("generator/", "discriminator/", "g_optimizer/", "d_optimizer/", "step/", "fixed_latents/"):
        assert any(n.startswith(prefix) for n in names), prefix
    assert int(names["step/.ATTRIBUTES/VARIABLE_VALUE"]) == 16
    assert len(list((run / "checkpoints").glob("ckpt-*.index"))) == 2  # keep: 2


@pytest.mark.parametrize("count, left_out, note", [
    (0, None, "this invocation timed no steps"),
    (1, 0, "the only step of this invocation (nothing left out)"),
    (2, 1, "after the first step (a run of 2 steps; 20 or fewer leave out only the first)"),
    (15, 1, "after the first step (a run of 15 steps; 20 or fewer leave out only the first)"),
    (20, 1, "after the first step (a run of 20 steps;"),
    (21, 10, "after the first 10 steps (of 21)"),
    (35, 10, "after the first 10 steps (of 35)"),
])
def test_ms_per_step_note_says_which_steps_the_median_left_out(count: int, left_out: int | None, note: str) -> None:
    from gan_cli.training.epoch_loop import median_ms, median_ms_note

    seconds = [(index + 1) / 1000 for index in range(count)]  # step i takes i + 1 ms: the median shows the cut
    assert median_ms(seconds) == (None if left_out is None else float(np.median(np.arange(left_out + 1, count + 1))))
    assert note in median_ms_note(count)


def test_train_refuses_a_non_empty_run_directory(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "precious.txt").write_text("keep me")
    code, output = invoke("train", tiny_recipe, "--out", run)
    assert code != 0 and "not empty" in output and "--resume" in output
    assert (run / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in run.iterdir()) == ["precious.txt"]


def test_resume_continues_exactly_as_a_straight_run(tiny_recipe: Path, tmp_path: Path) -> None:
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train_ok(tiny_recipe, "--out", straight, "--set", "train.epochs=4")
    train_ok(tiny_recipe, "--out", resumed, "--set", "train.epochs=2")
    output = train_ok(resumed, "--resume", "--set", "train.epochs=4")
    assert "resuming" in output and "at step 16" in output
    assert_same_checkpoint(straight, resumed)  # bit for bit: the same deterministic ops, state and data order
    with (resumed / "metrics.csv").open() as handle:
        assert [int(r["epoch"]) for r in csv.DictReader(handle)] == [1, 2, 3, 4]


def test_resume_refuses_changes_to_the_model(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_ok(tiny_recipe, "--out", run, "--set", "train.epochs=1")
    code, output = invoke("train", run, "--resume", "--set", "generator.widths=[8]")
    assert code != 0 and "generator.widths" in output and "may change only" in output


def test_step_cap_stops_mid_epoch_and_resume_finishes(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_ok(tiny_recipe, "--out", run, "--set", "train.steps=5")
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["steps"], summary["finished"]) == (5, True)
    assert (run / "samples" / "step_0000005.png").is_file()
    train_ok(run, "--resume", "--set", "train.steps=null")
    assert json.loads((run / "summary.json").read_text())["steps"] == 16


def test_sample_writes_grid_array_and_files_deterministically(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_ok(tiny_recipe, "--out", run, "--set", "train.epochs=1")
    code, output = invoke("sample", run, "--n", "12", "--seed", "7", "--out", tmp_path / "a.npz")
    assert code == 0, output
    first = np.load(tmp_path / "a.npz")["x"]
    assert first.shape == (12, 8, 8, 1) and first.dtype == np.uint8
    invoke("sample", run / "generator.keras", "--n", "12", "--seed", "7", "--out", tmp_path / "b.npz")
    np.testing.assert_array_equal(first, np.load(tmp_path / "b.npz")["x"])
    invoke("sample", run, "--n", "12", "--seed", "8", "--out", tmp_path / "c.npz")
    assert not np.array_equal(first, np.load(tmp_path / "c.npz")["x"])
    code, _ = invoke("sample", run, "--grid", "3x4", "--out", tmp_path / "grid.png")
    assert code == 0 and Image.open(tmp_path / "grid.png").size[0] > 4 * 8
    code, output = invoke("sample", run, "--n", "5", "--out", f"{tmp_path / 'frames'}/")
    assert code == 0 and len(list((tmp_path / "frames").glob("*.png"))) == 5
    code, output = invoke("sample", run, "--n", "20", "--grid", "3x3", "--out", tmp_path / "x.png")
    assert code != 0 and "holds 9 images" in output


@pytest.mark.parametrize("args, fragment", [
    (["train", "missing.yaml"], "recipe file not found"),
    (["train", "{recipe}", "--set", "train.batch_size=0"], "train.batch_size"),
    (["train", "{recipe}", "--set", "data.source=mnist", "--set", "data.path={tmp}/none.npz"], "mnist"),
    (["train", "{recipe}", "--set", "train.batch_size=4096"], "fewer than train.batch_size"),
    (["train", "{tmp}", "--resume"], "not a run directory"),
    (["sample", "{tmp}/nowhere", "--out", "{tmp}/s.png"], "not a run directory or a .keras"),
    (["sample", "{tmp}", "--out", "{tmp}/s.png"], "not a run directory"),
])
def test_user_errors_are_one_line_without_traceback(tiny_recipe: Path, tmp_path: Path, args: list[str],
                                                    fragment: str) -> None:
    argv = [a.format(recipe=tiny_recipe, tmp=tmp_path) for a in args]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code != 0
    assert fragment in result.output, result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1


def test_dry_run_prints_resolved_recipe_and_sizes_and_writes_nothing(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    output = train_ok(tiny_recipe, "--out", run, "--dry-run", "--set", "train.batch_size=16")
    assert "batch_size: 16" in output and "latent_dim: 8" in output
    assert "# generator: 1," in output or "# generator:" in output
    assert "parameters" in output and "16 steps per epoch" in output
    assert not run.exists()


def test_relative_data_path_is_stored_absolute_so_resume_works_anywhere(
        tiny_recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    rng = np.random.default_rng(0)
    np.savez(data_dir / "blobs.npz", x_train=rng.integers(0, 256, (64, 8, 8, 1), dtype=np.uint8))
    monkeypatch.chdir(data_dir)
    run = tmp_path / "run"
    train_ok(tiny_recipe, "--out", run, "--set", "data={source: npz, path: blobs.npz, limit: null}",
             "--set", "train.epochs=1")
    assert f"path: {data_dir / 'blobs.npz'}" in (run / "recipe.yaml").read_text()
    monkeypatch.chdir(tmp_path)
    train_ok(run, "--resume", "--set", "train.epochs=2")
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2


def test_ctrl_c_exits_130_and_keeps_the_last_checkpoint(tiny_recipe: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_cli.families.gan import GanModels

    original = GanModels.train_steps
    calls = {"n": 0}

    def interrupted_step(self: GanModels, *args: object) -> list[dict[str, float]]:
        calls["n"] += 1
        if calls["n"] == 12:  # in epoch 2, after epoch 1's checkpoint
            raise KeyboardInterrupt
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(GanModels, "train_steps", interrupted_step)
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", str(tiny_recipe), "--out", str(run), "--set", "train.steps_per_call=1"])
    assert result.exit_code == 130
    assert "interrupted" in result.output and "--resume" in result.output and "ckpt-8" in result.output
    monkeypatch.setattr(GanModels, "train_steps", original)
    output = train_ok(run, "--resume")
    assert "at step 8" in output


def test_resuming_a_finished_run_changes_nothing(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_ok(tiny_recipe, "--out", run)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    output = train_ok(run, "--resume")
    assert "already finished at step 16" in output
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_resuming_a_run_stopped_after_its_last_checkpoint_writes_its_final_files(tiny_recipe: Path,
                                                                                 tmp_path: Path) -> None:
    """A kill between the last checkpoint and the summary (as kill -9 can) leaves a run that --resume completes."""
    run = tmp_path / "run"
    train_ok(tiny_recipe, "--out", run)
    finished = json.loads((run / "summary.json").read_text())
    metrics = (run / "metrics.csv").read_bytes()
    for name in ("summary.json", "generator.keras", "generator.json", "loss_curves.png"):
        (run / name).unlink()
    output = train_ok(run, "--resume")
    assert "stopped before writing its final files" in output and "already finished" not in output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["finished"] and summary["steps"] == finished["steps"] == 16
    assert summary["ms_per_step"] is not None and "metrics.csv" in summary["ms_per_step_note"]
    assert json.loads((run / "generator.json").read_text())["step"] == 16
    assert (run / "generator.keras").is_file() and (run / "loss_curves.png").is_file()
    assert (run / "metrics.csv").read_bytes() == metrics  # no step trained twice, no row added
    assert "already finished at step 16" in train_ok(run, "--resume")


def test_resume_through_the_recipe_and_out(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_ok(tiny_recipe, "--out", run, "--set", "train.epochs=1")
    output = train_ok(tiny_recipe, "--out", run, "--resume")
    assert "at step 8" in output
    code, output = invoke("train", tiny_recipe, "--resume")
    assert code != 0 and "gan train RUN_DIR --resume" in output
    other = tmp_path / "other"
    train_ok(tiny_recipe, "--out", other, "--set", "train.steps=1")
    code, output = invoke("train", run, "--out", other, "--resume")
    assert code != 0 and "two different run directories" in output


def test_sample_refuses_a_model_that_is_not_a_generator(tmp_path: Path) -> None:
    import keras

    inputs = keras.Input((8, 8, 1))
    keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs))).save(tmp_path / "d.keras")
    code, output = invoke("sample", tmp_path / "d.keras", "--out", tmp_path / "s.png")
    assert code != 0 and "not an image generator" in output
    assert not (tmp_path / "s.png").exists()
