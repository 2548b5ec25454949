"""The ``npz`` source: images (and optional labels) stored as named arrays in a NumPy ``.npz`` file.

Default keys follow ``keras.datasets``' ``mnist.npz``: ``x_train``/``y_train`` for split train,
``x_test``/``y_test`` for split test, falling back to ``x``/``y``; ``data.x_key`` and ``data.y_key``
name other arrays.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from gan_cli.data.raw import RawImages, as_labels, as_uint8_images
from gan_cli.errors import DataError
from gan_cli.recipe.schema import DataSpec

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def read_npz(path: Path, split: str, x_key: str | None = None, y_key: str | None = None) -> RawImages:
    """Images and labels from an ``.npz`` file.

    Args:
        path: the ``.npz`` file.
        split: "train" or "test"; picks the default keys.
        x_key: the images array; None tries ``x_<split>`` then ``x``.
        y_key: the labels array; None tries ``y_<split>`` then ``y``, and goes without labels when
            neither exists.

    Returns:
        uint8 (N, H, W, C) images (see :func:`gan_cli.data.raw.as_uint8_images` for the accepted forms),
        int64 labels or None, described by the path and the keys used.

    Raises:
        DataError: the file is missing or not a readable ``.npz``, a key is missing (the message lists
            the keys the file has), or the arrays have an unsupported shape, dtype or value range.
    """
    save_hint = "save it with numpy.savez(path, x_train=images, y_train=labels)"
    try:
        with path.open("rb") as f:
            magic = f.read(6)
        if magic.startswith(_NPY_MAGIC):
            raise DataError(f"{path}: holds a single array (a .npy file), not named arrays; {save_hint}")
        if not magic.startswith(_ZIP_MAGICS):
            raise DataError(f"{path}: not a NumPy .npz file (no zip signature); {save_hint}")
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; set data.path to an existing .npz file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: cannot read it as a NumPy .npz file ({_reason(exc)}); "
                        f"{save_hint}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):  # pragma: no cover - the magic check rules this out
        raise DataError(f"{path}: holds a single array, not named arrays; {save_hint}")
    with archive:
        keys = list(archive.files)
        held = ", ".join(keys) if keys else "no arrays"
        x_name = _pick(keys, x_key, (f"x_{split}", "x"), "x_key", path, held)
        if x_name is None:
            tried = " or ".join(repr(name) for name in (f"x_{split}", "x"))
            raise DataError(f"{path}: no array {tried}; the file holds: {held}; set data.x_key to the images "
                            "array")
        y_name = _pick(keys, y_key, (f"y_{split}", "y"), "y_key", path, held)
        images = as_uint8_images(_read(archive, x_name, path), f"{path}[{x_name}]")
        labels = None
        if y_name is not None:
            where = f"{path}[{y_name}]" + ("" if y_key is not None else " (set data.y_key to choose others)")
            labels = as_labels(_read(archive, y_name, path), len(images), where)
    keys_used = x_name if y_name is None else f"{x_name}, {y_name}"
    return RawImages(images=images, labels=labels, description=f"{path} [{keys_used}]")


def load(spec: DataSpec) -> RawImages:
    """The ``npz`` source: arrays of ``spec.split`` (or ``x_key``/``y_key``) from the file ``spec.path``.

    Args:
        spec: the recipe's data section; ``path`` names the ``.npz`` file.

    Returns:
        The images, with labels when a labels array exists.

    Raises:
        DataError: ``data.path`` is not set, or see :func:`read_npz`.
    """
    if spec.path is None:
        raise DataError("data.path: not set; the npz source needs an .npz file with arrays x_train "
                        "(images) and optionally y_train (labels)")
    return read_npz(Path(spec.path).expanduser(), spec.split, spec.x_key, spec.y_key)


def _pick(keys: list[str], given: str | None, defaults: tuple[str, ...], option: str, path: Path,
          held: str) -> str | None:
    """The key named by the recipe (which must exist), else the first default present, else None."""
    if given is not None:
        if given not in keys:
            raise DataError(f"{path}: no array {given!r} (data.{option}); the file holds: {held}")
        return given
    return next((name for name in defaults if name in keys), None)


def _read(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(archive[key])
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        reason = _reason(exc)
        fix = ("save plain numeric arrays (object arrays need pickle, which is not allowed)"
               if "pickle" in reason else "the file may be corrupt; save it again")
        raise DataError(f"{path}: cannot read array {key!r} ({reason}); {fix}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 100 else text[:97] + "..."
