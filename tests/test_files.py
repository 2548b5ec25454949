"""Atomic writes: a failed or interrupted write leaves the old file and no debris."""

from __future__ import annotations

from pathlib import Path

import pytest

from gan_cli.errors import GanError
from gan_cli.files import atomic_path, write_atomic


def test_write_atomic_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.txt"
    write_atomic(target, "old")
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["f.txt"]


def test_failed_rename_keeps_the_old_file_and_names_the_target(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f.txt"
    write_atomic(target, "old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("gan_cli.files.os.replace", broken_replace)
    with pytest.raises(GanError, match=r"f.txt: cannot write \(No space left on device\)"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_interrupted_block_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "g.keras"
    with pytest.raises(KeyboardInterrupt), atomic_path(target, suffix=".keras") as tmp:
        assert tmp.suffix == ".keras" and tmp.parent == tmp_path
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_unwritable_place_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GanError, match="cannot write"):
        write_atomic(blocker / "inside.txt", "data")


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "f.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644
