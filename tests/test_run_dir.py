"""The run directory: names, refusal to overwrite, atomic writes, metrics round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from gan_cli.errors import RunDirError
from gan_cli.runs.run_dir import default_run_root, new_run, open_run, read_metrics, write_metrics


def test_new_run_accepts_absent_or_empty_and_refuses_files(tmp_path: Path) -> None:
    assert new_run(tmp_path / "a").root == tmp_path / "a"
    (tmp_path / "b").mkdir()
    new_run(tmp_path / "b")
    (tmp_path / "b" / "x").write_text("1")
    with pytest.raises(RunDirError, match="not empty"):
        new_run(tmp_path / "b")
    (tmp_path / "f").write_text("1")
    with pytest.raises(RunDirError, match="not a directory"):
        new_run(tmp_path / "f")


def test_default_run_root_counts_up(tmp_path: Path) -> None:
    assert default_run_root("x", tmp_path) == tmp_path / "x"
    (tmp_path / "x").mkdir()
    (tmp_path / "x-2").mkdir()
    assert default_run_root("x", tmp_path) == tmp_path / "x-3"


def test_open_run_needs_a_recipe(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="not found"):
        open_run(tmp_path / "nope")
    with pytest.raises(RunDirError, match="no recipe.yaml"):
        open_run(tmp_path)


def test_metrics_round_trip(tmp_path: Path) -> None:
    rows = [{"epoch": 1, "step": 8, "steps_in_row": 8, "d_loss": 0.5, "g_loss": 1.25, "d_real": 0.7,
             "d_fake": 0.3, "seconds": 1.5, "ms_per_step": 4.0}]
    write_metrics(tmp_path / "m.csv", rows)
    assert read_metrics(tmp_path / "m.csv") == [{k: float(v) for k, v in rows[0].items()}]
    assert read_metrics(tmp_path / "absent.csv") == []
