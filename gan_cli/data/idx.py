"""The ``idx`` source: MNIST-format IDX files (gzipped or not), parsed with NumPy.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the values, big-endian. MNIST and Fashion-MNIST ship as four of
them: ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
``t10k-labels-idx1-ubyte.gz``.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from gan_cli.data.raw import RawImages, as_labels, as_uint8_images
from gan_cli.errors import DataError
from gan_cli.recipe.schema import DataSpec

#: IDX type codes and the NumPy dtypes they store (all big-endian).
IDX_DTYPES: dict[int, str] = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

#: File name prefix of each split, as in the MNIST distribution.
SPLIT_PREFIXES: dict[str, str] = {"train": "train", "test": "t10k"}

_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in one IDX file; gzip compression is detected from the content, not the name.

    Args:
        path: the file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns:
        A writable array in native byte order with the file's shape and dtype
        (uint8 for MNIST images and labels).

    Raises:
        DataError: the file is missing, unreadable, not IDX, or truncated.
    """
    path = Path(path)
    fix = "download it again or point data.path elsewhere"
    try:
        with path.open("rb") as f:
            compressed = f.read(2) == _GZIP_MAGIC
        with (gzip.open(path, "rb") if compressed else path.open("rb")) as f:
            data = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise DataError(f"{path}: cannot read the file ({reason}); it may be truncated or corrupt, "
                        f"{fix}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES or data[3] == 0:
        raise DataError(f"{path}: not an IDX file (magic number {data[:4].hex() or 'missing'}); expected "
                        "MNIST-format IDX data such as train-images-idx3-ubyte.gz")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: IDX header is truncated ({len(data)} bytes for {ndim} dimensions); {fix}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(IDX_DTYPES[data[2]])
    count = math.prod(dims)
    expected, found = count * dtype.itemsize, len(data) - header
    if found != expected:
        raise DataError(f"{path}: IDX header says shape {dims} of {dtype.name} ({expected} bytes) but the "
                        f"file holds {found} bytes of data; it is truncated or corrupt, {fix}")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def find_idx_files(folder: Path, split: str) -> tuple[Path | None, Path | None]:
    """The images and labels files of ``split`` in ``folder``, ``.gz`` preferred; None where absent.

    Args:
        folder: a folder that may hold MNIST-format IDX files.
        split: "train" (``train-*``) or "test" (``t10k-*``).

    Returns:
        (images path or None, labels path or None).
    """
    prefix = SPLIT_PREFIXES[split]
    return (_first_file(folder, f"{prefix}-images-idx3-ubyte"),
            _first_file(folder, f"{prefix}-labels-idx1-ubyte"))


def read_idx_folder(folder: Path, split: str) -> RawImages:
    """The images (and labels, when their file is there) of ``split`` from a folder of IDX files.

    Args:
        folder: the folder holding ``train-images-idx3-ubyte[.gz]`` and so on.
        split: "train" or "test".

    Returns:
        uint8 (N, H, W, 1) images, int64 labels or None, described by the images file's path.

    Raises:
        DataError: the images file is missing (naming the file names looked for and the folder), or a
            file is malformed, or the labels do not match the images.
    """
    images_path, labels_path = find_idx_files(folder, split)
    if images_path is None:
        stem = f"{SPLIT_PREFIXES[split]}-images-idx3-ubyte"
        other = "test" if split == "train" else "train"
        hint = ""
        if find_idx_files(folder, other)[0] is not None:
            hint = f" (it has the {other} split: set data.split: {other})"
        raise DataError(f"{folder}: no {stem}.gz or {stem} in this folder{hint}; set data.path to the folder "
                        f"that holds the IDX files for split {split}")
    images = as_uint8_images(read_idx(images_path), str(images_path))
    labels = None
    if labels_path is not None:
        labels = as_labels(read_idx(labels_path), len(images), str(labels_path))
    with_labels = f" with {labels_path.name}" if labels_path is not None else ", no labels file"
    return RawImages(images=images, labels=labels, description=f"IDX {images_path}{with_labels}")


def load(spec: DataSpec) -> RawImages:
    """The ``idx`` source: the IDX files of ``spec.split`` in the folder ``spec.path``.

    Args:
        spec: the recipe's data section; ``path`` names the folder.

    Returns:
        The images, with labels when ``*-labels-idx1-ubyte[.gz]`` is present.

    Raises:
        DataError: ``data.path`` is not set or not a folder, or the files are missing or malformed.
    """
    if spec.path is None:
        raise DataError("data.path: not set; the idx source needs the folder that holds "
                        "train-images-idx3-ubyte.gz (and optionally train-labels-idx1-ubyte.gz)")
    folder = Path(spec.path).expanduser()
    if folder.is_file():
        raise DataError(f"{folder}: is a file; data.path must be the folder that holds the IDX files "
                        f"(here {folder.parent})")
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found; set data.path to the folder that holds the IDX files")
    return read_idx_folder(folder, spec.split)


def _first_file(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None
