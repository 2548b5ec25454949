"""Atomic writes: a failed or interrupted write leaves the old file and no debris. The JSON file reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from gan_cli.errors import GanError
from gan_cli.files import (
    INVALID_JSON,
    JsonFileError,
    atomic_path,
    read_json,
    read_json_list,
    read_json_object,
    write_atomic,
)


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


def test_read_json_checks_the_kind_and_names_the_file(tmp_path: Path) -> None:
    good, listed, broken = tmp_path / "good.json", tmp_path / "listed.json", tmp_path / "broken.json"
    good.write_text('{"step": 3}')
    listed.write_text("[1, 2]")
    broken.write_bytes(b"{\xff not json")
    assert read_json(good, dict) == {"step": 3}
    assert read_json(listed, list) == [1, 2]
    with pytest.raises(JsonFileError, match="listed.json: not a JSON object") as wrong:
        read_json(listed, dict)
    assert wrong.value.wrong_kind and wrong.value.reason == "not a JSON object"
    with pytest.raises(JsonFileError, match="good.json: not a JSON list"):
        read_json(good, list)
    with pytest.raises(JsonFileError, match="broken.json: invalid JSON") as invalid:
        read_json(broken)
    assert not invalid.value.wrong_kind and invalid.value.reason == INVALID_JSON
    with pytest.raises(OSError):
        read_json(tmp_path / "missing.json")


def test_lenient_readers_return_an_empty_value(tmp_path: Path) -> None:
    listed, broken = tmp_path / "listed.json", tmp_path / "broken.json"
    listed.write_text("[1, 2]")
    broken.write_text("{")
    assert read_json_list(listed) == [1, 2] and read_json_object(listed) == {}
    assert read_json_object(broken) == {} and read_json_list(broken) == []
    assert read_json_object(tmp_path / "missing.json") == {} and read_json_list(tmp_path) == []
