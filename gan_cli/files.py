"""Atomic file writes (readers see the old file or the new one, never a torn one), and the one JSON file reader."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gan_cli.errors import UsageError, WriteError


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path``.

    If the block fails (an exception, Ctrl-C) the temporary file is removed and ``path`` is untouched.
    ``suffix`` lets writers that check extensions (Keras wants ``.keras``) use the temporary name.

    Raises:
        WriteError: the file cannot be written (missing permission, disk full, ...), naming ``path``.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
        os.close(handle)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write ({exc.strerror or exc})") from None
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the mode open() would
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, flushed to disk before the rename."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def replace_directory(new: Path, final: Path) -> None:
    """Put the finished directory ``new`` at ``final``, replacing what was there.

    The old directory is renamed aside first and removed last, so at every moment either the old or the
    new one is complete (a crash in between leaves ``final`` or ``final.old``).
    """
    old = final.with_name(f"{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


def check_output_folder(path: str | Path, option: str = "--out") -> None:
    """Refuse an output whose folder does not exist, so a mistyped path is reported rather than created as a
    tree of new folders. A new folder (``DIR/``) in an existing one is fine.

    Raises:
        UsageError: the folder that would hold ``path`` does not exist (or is a file).
    """
    parent = Path(path).parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise UsageError(f"{option} {path}: the folder {parent} {what}; create it first (mkdir -p {parent}) or "
                         "choose another path")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def cache_root() -> Path:
    """Where gan keeps what it can rebuild (evaluators, device measurements): ``$GAN_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/gan-cli``, else ``~/.cache/gan-cli``."""
    if os.environ.get("GAN_CACHE_DIR"):
        return Path(os.environ["GAN_CACHE_DIR"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gan-cli"


class JsonFileError(ValueError):
    """A file that is not valid JSON (``reason`` :data:`INVALID_JSON`), or holds another kind of value than the
    one expected (``wrong_kind``; ``reason`` ``not a JSON object`` or ``not a JSON list``)."""

    def __init__(self, path: Path, reason: str, detail: str = "", *, wrong_kind: bool = False) -> None:
        super().__init__(f"{path}: {reason}" + (f" ({detail})" if detail else ""))
        self.path, self.reason, self.wrong_kind = path, reason, wrong_kind


#: :attr:`JsonFileError.reason` of a file that is not valid (UTF-8) JSON.
INVALID_JSON = "invalid JSON"
_KIND_NAMES = {dict: "object", list: "list"}


def read_json(path: Path, kind: type[dict[str, Any]] | type[list[Any]] = dict) -> Any:
    """The JSON value in ``path`` (read as UTF-8), which must be a ``kind``: an object (``dict``) or a list.

    Every JSON file gan reads goes through here; readers that report or rebuild what they can use
    :func:`read_json_object` and :func:`read_json_list`.

    Raises:
        OSError: the file cannot be read (missing, a folder, no permission, ...).
        JsonFileError: the file is not valid JSON, or its value is not a ``kind``.
    """
    text = path.read_bytes()
    try:
        data = json.loads(text.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError and json.JSONDecodeError are ValueErrors
        raise JsonFileError(path, INVALID_JSON, str(exc).splitlines()[0] if str(exc) else "") from None
    if not isinstance(data, kind):
        raise JsonFileError(path, f"not a JSON {_KIND_NAMES[kind]}", wrong_kind=True)
    return data


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or ``{}`` when it is missing, unreadable, damaged or not an object (for
    readers that report or rebuild what they can)."""
    try:
        data: dict[str, Any] = read_json(path, dict)
    except (OSError, JsonFileError):
        return {}
    return data


def read_json_list(path: Path) -> list[Any]:
    """The JSON list in ``path``, or ``[]`` when it is missing, unreadable, damaged or not a list."""
    try:
        data: list[Any] = read_json(path, list)
    except (OSError, JsonFileError):
        return []
    return data
