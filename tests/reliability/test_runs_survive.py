"""Runs a user can kill and resume: kill -9 at random moments, SIGINT/SIGTERM, a full disk, divergence rollback,
and exact resume, through real ``gan train`` processes."""

from __future__ import annotations

import csv
import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import TINY_RECIPE, assert_same_checkpoint
from conftest import finish_gan as finish
from conftest import gan_process as gan

from gan_cli.runs.checkpoints import committed_checkpoints, verify_checkpoint

#: The tiny digits GAN of conftest, long enough (24 epochs of 8 steps, a checkpoint per epoch) to be killed.
LONG = ["--set", "train.epochs=24", "--set", "sampling.every_epochs=10",
        # the state the modern techniques add (EMA weights, ADA's p and counters, the augmentation's random state)
        # must survive a kill as the models' own does (R1 adds none)
        "--set", "train.ema.decay=0.95", "--set", "augment.policy=[translation]", "--set", "augment.ada=true",
        "--set", "augment.ada_interval=2", "--set", "augment.ada_images=2000"]


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny recipe trained without interruption: what every interrupted run must end up equal to."""
    folder = tmp_path_factory.mktemp("straight")
    (folder / "tiny.yaml").write_text(TINY_RECIPE)
    finish("train", folder / "tiny.yaml", "--out", folder / "run", "--no-progress", *LONG)
    return folder / "run"


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 120) -> None:
    """Wait until ``path`` exists (the process got that far)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def wait_for_new_checkpoint(folder: Path, since: float, process: subprocess.Popen[str], timeout: float = 300) -> None:
    """Wait until a checkpoint is committed (its manifest written) after ``since``, or the process ends. Waiting
    for progress rather than a fixed time keeps the test meaningful on a slow or busy machine."""
    deadline = time.monotonic() + timeout
    def committed_since() -> bool:
        for path in folder.glob("ckpt-*.manifest.json"):
            try:
                if path.stat().st_mtime >= since:
                    return True
            except FileNotFoundError:  # an old checkpoint deleted meanwhile (checkpoints.keep)
                continue
        return False

    while not committed_since():
        if process.poll() is not None:
            return
        assert time.monotonic() < deadline, f"no checkpoint committed in {folder}"
        time.sleep(0.02)


def test_kill_9_at_random_moments_then_resume_ends_exactly_as_a_straight_run(
        straight: Path, tmp_path: Path, record_property: pytest.RecordProperty) -> None:
    """Kill a real ``gan train`` with SIGKILL at random moments (start-up, steps, checkpoint writes), resume
    each time; after every kill the committed checkpoints are intact; the finished run equals the straight one."""
    recipe, run = tmp_path / "tiny.yaml", tmp_path / "run"
    recipe.write_text(TINY_RECIPE)
    rng = random.Random(7)
    kills, progressed, torn = 0, 0, 0
    last_step = -1
    for _ in range(6):
        started = run.joinpath("recipe.yaml").is_file()
        launched = time.time()
        process = gan(*(["train", run, "--resume"] if started else ["train", recipe, "--out", run]),
                      "--no-progress", *LONG)
        if rng.random() < 0.8:  # kill it 0-1 s after its first new checkpoint: during steps or the next save
            wait_for_new_checkpoint(run / "checkpoints", launched, process)
            time.sleep(rng.uniform(0.0, 1.0))
        else:  # kill it during start-up (loading, restoring, tracing)
            time.sleep(rng.uniform(0.0, 2.0))
        if process.poll() is not None:
            break  # finished before the kill
        process.kill()
        process.communicate()
        kills += 1
        checkpoints = run / "checkpoints"
        committed = committed_checkpoints(checkpoints) if checkpoints.is_dir() else []
        for _step, prefix, manifest in committed:
            assert verify_checkpoint(prefix, manifest) is None
        torn += any(not Path(f"{index.with_suffix('')}.manifest.json").exists()
                    for index in checkpoints.glob("ckpt-*.index")) if checkpoints.is_dir() else 0
        torn += any(p.name.startswith(".") for p in run.rglob("*.tmp")) if run.is_dir() else 0
        step = committed[0][0] if committed else -1
        progressed += step > last_step
        last_step = max(last_step, step)
    finish("train", run, "--resume", "--no-progress") if run.joinpath("recipe.yaml").is_file() else \
        finish("train", recipe, "--out", run, "--no-progress", *LONG)
    record_property("kills", kills)
    print(f"kill -9: {kills} kills, {progressed} with new progress, {torn} left a torn write behind")
    assert kills >= 4 and progressed >= 2
    assert_same_checkpoint(run, straight)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["finished"] and summary["steps"] == 192
    with (run / "metrics.csv").open() as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle)]
    assert steps == sorted(steps) and steps[-1] == 192


# SIGTERM through a real process; SIGINT (and SIGTERM at every point of the loop) in test_stop_signals.py
@pytest.mark.parametrize("number", [signal.SIGTERM])
def test_a_stop_signal_saves_a_checkpoint_at_the_current_step_and_resume_is_exact(
        straight: Path, tmp_path: Path, number: int) -> None:
    recipe, run = tmp_path / "tiny.yaml", tmp_path / "run"
    recipe.write_text(TINY_RECIPE)
    process = gan("train", recipe, "--out", run, "--no-progress", *LONG)
    wait_for(run / "checkpoints" / "ckpt-16.manifest.json", process)
    process.send_signal(number)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 128 + number, output
    name = signal.Signals(number).name
    line = [text for text in output.splitlines() if text.startswith("stopped by")]
    assert len(line) == 1 and f"stopped by {name} at step" in line[0] and "--resume" in line[0], output
    assert "Traceback" not in output
    step = int(line[0].split(" at step ")[1].split()[0])
    assert 16 <= step < 192
    assert committed_checkpoints(run / "checkpoints")[0][0] == step  # saved at the step reached
    finish("train", run, "--resume", "--no-progress")
    assert_same_checkpoint(run, straight)
