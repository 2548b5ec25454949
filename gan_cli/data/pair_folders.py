"""Image-to-image data in folders, in the layouts the pix2pix and CycleGAN data sets use.

``paired_folder`` (``data.path`` = ROOT), for pix2pix:

- ``ROOT/<split>/*.jpg`` with A and B side by side in each file (A left, B right: facades, maps,
  edges2shoes), or
- ``ROOT/<split>/A/*`` and ``ROOT/<split>/B/*`` with matching file names;

``<split>`` is ``train`` or ``test`` (``val`` stands in for a missing ``test``); without split folders
ROOT itself is the training split.

``unpaired_folder``, for CycleGAN: ``ROOT/trainA``, ``ROOT/trainB``, ``ROOT/testA``, ``ROOT/testB``
(horse2zebra, apple2orange). There is no ground truth.

Images are read in sorted name order as greyscale unless any of a domain's images is in colour, then as
RGB, and brought to one size: ``data.image_size`` when set, else the first image's size (other sizes are
an error then).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gan_cli.data.folder import GREY_MODES, is_image_file, peek_image, read_image
from gan_cli.data.transforms import resize_images
from gan_cli.errors import DataError
from gan_cli.recipe import DataSpec


def _root(spec: DataSpec) -> Path:
    if spec.path is None:
        raise DataError(f"data.path: not set; the {spec.source} source needs a folder (see docs/translation.md "
                        "for the layouts)")
    root = Path(spec.path).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "folder not found"
        raise DataError(f"{root}: {what}; set data.path to the data set's folder")
    return root


def _images_in(folder: Path) -> list[Path]:
    files = sorted(path for path in folder.iterdir() if is_image_file(path))
    if not files:
        raise DataError(f"{folder}: no PNG/JPEG images; check data.path and the folder layout")
    return files


def _read_all(files: list[Path], size: tuple[int, int] | None, halves: bool = False) -> np.ndarray:
    """uint8 (N, H, W, C) from files; with ``halves`` each file holds two images side by side and the
    result is (N, H, 2W, C) with both halves brought to ``size``."""
    headers = [peek_image(path) for path in files]
    mode = "RGB" if any(m not in GREY_MODES for m, _ in headers) else "L"
    arrays = []
    for path, (_, (width, height)) in zip(files, headers):
        image = read_image(path, mode, (height, width))
        if halves:
            if width % 2:
                raise DataError(f"{path}: width {width} is odd, so it cannot hold A and B side by side; use "
                                "images twice as wide as high, or A/ and B/ folders")
            parts = [image[:, : width // 2], image[:, width // 2:]]
        else:
            parts = [image]
        arrays.append(parts)
    target = size or arrays[0][0].shape[:2]
    out = []
    for path, parts in zip(files, arrays):
        if parts[0].shape[:2] != tuple(target) and size is None:
            raise DataError(f"{path}: {parts[0].shape[0]}x{parts[0].shape[1]} differs from {files[0].name}'s "
                            f"{target[0]}x{target[1]}; set data.image_size: [height, width] to resize them all")
        out.append(np.concatenate([resize_images(p[np.newaxis], tuple(target))[0] for p in parts], axis=1))
    return np.stack(out)


def _split(root: Path, split: str, names: tuple[str, ...]) -> Path:
    """ROOT/<split> (``val`` for a missing ``test``) when ROOT has split folders, else ROOT for train."""
    present = {child.name for child in root.iterdir() if child.is_dir()}
    if not present & set(names):
        if split == "train":
            return root
        raise DataError(f"{root}: no test/ folder (only a training set); evaluate against the training "
                        "images with --against train, or add a test/ folder")
    for name in (split, "val") if split == "test" else (split,):
        if name in present:
            return root / name
    raise DataError(f"{root}: no {split}/ folder; add one (the layout is ROOT/train, ROOT/test)")


def load_paired(spec: DataSpec) -> tuple[np.ndarray, np.ndarray, str]:
    """The (A, B) pairs of a ``paired_folder``, uint8 (N, H, W, C) each, and a description.

    Raises:
        DataError: missing folder, no images, names that do not match between A/ and B/, odd widths, or
            different sizes without ``data.image_size``.
    """
    root = _split(_root(spec), spec.split, ("train", "test", "val"))
    size = tuple(spec.image_size) if spec.image_size is not None else None
    if (root / "A").is_dir() and (root / "B").is_dir():
        files_a, files_b = _images_in(root / "A"), _images_in(root / "B")
        names_a, names_b = {p.name for p in files_a}, {p.name for p in files_b}
        if names_a != names_b:
            lonely = sorted(names_a ^ names_b)
            raise DataError(f"{root}: {len(lonely)} file names are in only one of A/ and B/ (e.g. {lonely[0]}); "
                            "paired folders need the same names in both")
        a = _read_all(files_a, size)  # type: ignore[arg-type]
        b = _read_all(files_b, size)  # type: ignore[arg-type]
        return a, b, f"paired_folder {root} (A/ and B/)"
    both = _read_all(_images_in(root), size, halves=True)  # type: ignore[arg-type]
    width = both.shape[2] // 2
    return both[:, :, :width], both[:, :, width:], f"paired_folder {root} (A|B side by side)"


def load_unpaired(spec: DataSpec) -> tuple[np.ndarray, np.ndarray, str]:
    """The A and B images of an ``unpaired_folder`` (``trainA``/``trainB`` or ``testA``/``testB``).

    Raises:
        DataError: a missing domain folder, no images, or different sizes without ``data.image_size``.
    """
    root = _root(spec)
    size = tuple(spec.image_size) if spec.image_size is not None else None
    domains = []
    for side in ("A", "B"):
        folder = root / f"{spec.split}{side}"
        if not folder.is_dir():
            raise DataError(f"{root}: no {spec.split}{side}/ folder; unpaired data needs trainA/, trainB/ "
                            "(and testA/, testB/ for evaluation)")
        domains.append(_read_all(_images_in(folder), size))  # type: ignore[arg-type]
    return domains[0], domains[1], f"unpaired_folder {root} ({spec.split}A/, {spec.split}B/)"
