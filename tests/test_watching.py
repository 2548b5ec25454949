"""Watching a run: TensorBoard events written while training, and the progress GIF (``gan animate``)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from PIL import Image, ImageSequence

from gan_cli.cli import cli
from gan_cli.families.gan import GanModels


def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def train_ok(*args: object) -> str:
    code, output = invoke("train", *args)
    assert code == 0, output
    return output


def events(run: Path) -> dict[str, list[tuple[int, np.ndarray]]]:
    """Every summary in ``RUN/tensorboard``, read back with TensorFlow: tag -> [(step, value)] sorted by step;
    the plugin each tag was written for under ``"plugin:" + tag``."""
    found: dict[str, list] = defaultdict(list)
    for path in sorted((run / "tensorboard").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                found[value.tag].append((event.step, tf.make_ndarray(value.tensor)))
                if value.metadata.plugin_data.plugin_name:
                    found[f"plugin:{value.tag}"] = value.metadata.plugin_data.plugin_name  # type: ignore[assignment]
    return {tag: sorted(values, key=lambda v: v[0]) if isinstance(values, list) else values
            for tag, values in found.items()}


def steps(found: dict[str, list[tuple[int, np.ndarray]]], tag: str) -> list[int]:
    return [step for step, _ in found.get(tag, [])]


def metrics(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_training_logs_each_row_and_grid_to_tensorboard_once(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_ok(tiny_recipe, "--out", run)  # 2 epochs of 8 steps, a grid after each
    found = events(run)
    for tag in ("loss/d_loss", "loss/g_loss", "discriminator/d_real", "discriminator/d_fake", "speed/ms_per_step",
                "speed/seconds", "eval/diversity"):
        assert steps(found, tag) == [8, 16], tag
        assert found[f"plugin:{tag}"] == "scalars"
    assert not {"epoch", "step", "steps_in_row", "health"} & {tag.split("/")[-1] for tag in found}
    rows = metrics(run)
    for (step, value), row in zip(found["loss/g_loss"], rows):
        assert step == int(row["step"]) and float(value) == pytest.approx(float(row["g_loss"]), rel=1e-5)
    # the grids, as the exact PNG files of RUN/samples, in TensorBoard's image format [width, height, png]
    assert steps(found, "samples") == [8, 16] and found["plugin:samples"] == "images"
    for (_, (width, height, png)), name in zip(found["samples"], ("epoch_0001.png", "epoch_0002.png")):
        grid = run / "samples" / name
        assert png == grid.read_bytes()
        assert (int(width), int(height)) == Image.open(grid).size
    assert Image.open(run / "progress.gif").n_frames == 2  # written at the end of training
    # what `tensorboard --logdir RUN` shows: TensorBoard's own loader finds the same scalars and images
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    board = EventMultiplexer()
    board.AddRunsFromDirectory(str(run))
    board.Reload()
    assert list(board.Runs()) == ["tensorboard"]
    assert [e.step for e in board.Tensors("tensorboard", "loss/g_loss")] == [8, 16]
    assert board.SummaryMetadata("tensorboard", "samples").plugin_data.plugin_name == "images"

    # a resumed run logs its new rows only, into a new event file beside the old one
    train_ok(run, "--resume", "--set", "train.epochs=3")
    found = events(run)
    assert steps(found, "loss/d_loss") == [8, 16, 24] and steps(found, "samples") == [8, 16, 24]
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 2
    assert Image.open(run / "progress.gif").n_frames == 3


def test_switched_off_it_writes_nothing_and_a_resume_may_switch_it_on(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_ok(tiny_recipe, "--out", run, "--set", "logs.tensorboard=false", "--set", "logs.progress_gif=false")
    assert not (run / "tensorboard").exists() and not (run / "progress.gif").exists()
    assert len(list((run / "samples").iterdir())) == 2
    train_ok(run, "--resume", "--set", "train.epochs=3", "--set", "logs.tensorboard=true")
    found = events(run)
    assert steps(found, "loss/d_loss") == [24] and steps(found, "samples") == [24]  # old rows are not logged
    assert not (run / "progress.gif").exists()
    [entry] = json.loads((run / "changes.json").read_text())
    assert entry["changes"]["logs.tensorboard"] == {"from": False, "to": True}


def test_rows_rolled_back_are_not_logged(tiny_recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original, calls = GanModels.train_steps, {"n": 0}

    def poisoned(self: GanModels, *args: object) -> list[dict[str, float]]:
        calls["n"] += 1
        if calls["n"] == 12:  # inside epoch 2: its losses become NaN, and training rolls back to step 8
            kernel = self.generator.trainable_variables[0]
            kernel.assign(np.full(kernel.shape, np.nan, np.float32))
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(GanModels, "train_steps", poisoned)
    run = tmp_path / "run"
    train_ok(tiny_recipe, "--out", run, "--set", "train.epochs=3", "--set", "health.on_divergence=rollback",
             "--set", "logs.progress_gif=false")
    assert [int(row["step"]) for row in metrics(run)] == [8, 16, 16, 24]  # the diverged row stays in metrics.csv
    found = events(run)
    assert steps(found, "loss/g_loss") == [8, 16, 24]
    assert all(np.isfinite(float(value)) for _, value in found["loss/g_loss"])


#: A tiny pix2pix (edges -> digit) on 32 digits: 2 epochs of 2 steps.
PIX2PIX = """\
family: pix2pix
seed: 1
data: {source: digits, task: edges, limit: 32}
generator: {architecture: unet, widths: [8, 8, 8], kernel_size: 4}
discriminator: {architecture: patchgan, widths: [8, 8], kernel_size: 4, output_activation: linear, dropout: 0}
train: {epochs: 2, batch_size: 16}
sampling: {grid: [2, 3], every_epochs: 1}
"""


def test_a_translation_run_logs_its_losses_and_grids(tmp_path: Path) -> None:
    recipe = tmp_path / "pix2pix.yaml"
    recipe.write_text(PIX2PIX)
    run = tmp_path / "run"
    train_ok(recipe, "--out", run)
    found = events(run)
    last = [int(row["step"]) for row in metrics(run)]
    for tag in ("loss/d_loss", "loss/g_adv", "loss/l1", "eval/val_l1"):
        assert steps(found, tag) == last, tag
    assert steps(found, "samples") == last
    assert found["samples"][-1][1][2] == (run / "samples" / "epoch_0002.png").read_bytes()
    assert Image.open(run / "progress.gif").n_frames == 2


# ------------------------------------------------------------------------------------------------------
# gan animate, on run directories made by hand (no training)


def fake_run(root: Path, grids: dict[str, np.ndarray], steps_per_epoch: int | None = None) -> Path:
    """A run directory holding a recipe, the given grids (file name -> image) and optionally a summary."""
    (root / "samples").mkdir(parents=True)
    (root / "recipe.yaml").write_text("name: fake\n")
    for name, picture in grids.items():
        Image.fromarray(picture).save(root / "samples" / name)
    if steps_per_epoch is not None:
        (root / "summary.json").write_text(json.dumps({"steps_per_epoch": steps_per_epoch}))
    return root


def frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        return [np.asarray(frame.convert("L")) for frame in ImageSequence.Iterator(gif)]


def test_animate_writes_one_frame_per_grid_in_training_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pictures = {n: rng.integers(0, 256, (30, 40), dtype=np.uint8) for n in (1, 2, 10, 25)}
    grids = {f"epoch_{n:04d}.png": p for n, p in pictures.items()}
    grids["step_0000260.png"] = rng.integers(0, 256, (30, 40), dtype=np.uint8)  # step 260 = epoch 26 of 10 steps
    run = fake_run(tmp_path / "run", grids, steps_per_epoch=10)
    code, output = invoke("animate", run)
    assert code == 0 and f"wrote {run / 'progress.gif'} (5 frames)" in output
    shown = frames(run / "progress.gif")
    assert len(shown) == 5
    in_order = [*pictures.values(), grids["step_0000260.png"]]
    for frame, picture in zip(shown, in_order):
        assert frame.shape[1] == 40 and frame.shape[0] > 30  # the grid over its caption strip
        np.testing.assert_array_equal(frame[:30], picture)
        assert (frame[30:] < 128).any()  # caption text
    with Image.open(run / "progress.gif") as gif:
        durations = [frame.info["duration"] for frame in ImageSequence.Iterator(gif)]
    assert durations[:-1] == [250] * 4 and durations[-1] >= 2000  # 4 fps; the last frame held

    code, output = invoke("animate", run, "--out", tmp_path / "slow.gif", "--fps", "2")
    assert code == 0 and len(frames(tmp_path / "slow.gif")) == 5
    with Image.open(tmp_path / "slow.gif") as gif:
        assert gif.info["duration"] == 500


def test_animate_keeps_colour_grids_close(tmp_path: Path) -> None:
    first = np.zeros((12, 12, 3), np.uint8)
    first[..., 0] = 200
    last = np.zeros((12, 12, 3), np.uint8)
    last[..., 2] = 180
    run = fake_run(tmp_path / "run", {"epoch_0001.png": first, "epoch_0002.png": last})
    assert invoke("animate", run)[0] == 0
    with Image.open(run / "progress.gif") as gif:
        shown = [np.asarray(frame.convert("RGB"))[:12, :12].astype(int) for frame in ImageSequence.Iterator(gif)]
    assert np.abs(shown[0] - first).max() <= 8 and np.abs(shown[-1] - last).max() <= 8


@pytest.mark.parametrize("names", [[], ["epoch_0001.png"]])
def test_animate_needs_two_grids(tmp_path: Path, names: list[str]) -> None:
    run = fake_run(tmp_path / "run", {name: np.zeros((8, 8), np.uint8) for name in names})
    code, output = invoke("animate", run)
    assert code == 1 and "Traceback" not in output and len(output.strip().splitlines()) == 1
    assert "a progress GIF needs at least two" in output and "sampling.every_epochs" in output
    assert not (run / "progress.gif").exists()


def test_animate_refuses_what_is_not_a_run_or_not_a_gif(tmp_path: Path) -> None:
    code, output = invoke("animate", tmp_path)
    assert code == 1 and "not a run directory" in output
    run = fake_run(tmp_path / "run", {})
    code, output = invoke("animate", run, "--out", tmp_path / "x.png")
    assert code == 2 and "ending in .gif" in output


def test_animate_does_not_import_tensorflow(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run", {f"epoch_000{n}.png": np.full((8, 8), 40 * n, np.uint8) for n in (1, 2)})
    code = f"""
import sys
from click.testing import CliRunner
from gan_cli.cli import cli
result = CliRunner().invoke(cli, ["animate", {str(run)!r}])
assert result.exit_code == 0, result.output
print("tensorflow" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
