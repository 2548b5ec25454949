"""A full disk during a checkpoint write is one clear line, and the previous checkpoint survives it, through a real
``gan train`` process (its own file, so the test runs beside the long kill tests)."""

from __future__ import annotations

import json
import resource
import signal
from pathlib import Path

from conftest import TINY_RECIPE
from conftest import finish_gan as finish
from conftest import gan_process as gan


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_full_disk_is_one_clear_line_and_the_previous_checkpoint_survives(tmp_path: Path) -> None:
    recipe, run = tmp_path / "tiny.yaml", tmp_path / "run"
    recipe.write_text(TINY_RECIPE)
    finish("train", recipe, "--out", run, "--no-progress", "--set", "train.epochs=1")
    before = {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()}
    data_size = (run / "checkpoints" / "ckpt-8.data-00000-of-00001").stat().st_size
    process = gan("train", run, "--resume", "--no-progress", "--set", "train.epochs=3",
                  preexec_fn=lambda: _limit_file_size(data_size // 2))
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 1, output
    errors = [text for text in output.splitlines() if text.startswith("Error:")]
    assert len(errors) == 1 and "cannot write" in errors[0] and "ckpt-8 is intact" in errors[0], output
    assert "Traceback" not in output
    for name, data in before.items():
        if name != "checkpoint":
            assert (run / "checkpoints" / name).read_bytes() == data, name
    finish("train", run, "--resume", "--no-progress", "--set", "train.epochs=3")
    assert json.loads((run / "summary.json").read_text())["steps"] == 24
