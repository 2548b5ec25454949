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
an error then). Modes are converted and unreadable files skipped as :mod:`gan_cli.data.image_files`
describes; in paired data a pair goes when either side is unreadable. The description names what was
skipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gan_cli.data.folder import is_image_file
from gan_cli.data.image_files import ImageStack, SkippedFiles, UnreadableImage, open_image, read_images
from gan_cli.errors import DataError
from gan_cli.recipe.schema import DataSpec


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


def _image_size(spec: DataSpec) -> tuple[int, int] | None:
    return None if spec.image_size is None else (int(spec.image_size[0]), int(spec.image_size[1]))


def _read_a_b(root: Path, names: list[str], size: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray, str]:
    """``A/<name>`` and ``B/<name>`` for each name, uint8 (N, H, W, C) each, and the skip note; a pair
    goes when either side is unreadable."""
    stacks = ImageStack(root / "A", size), ImageStack(root / "B", size)
    skipped = SkippedFiles(root, unit="pair")
    for name in names:
        try:
            pair = open_image(root / "A" / name), open_image(root / "B" / name)
        except UnreadableImage as exc:
            skipped.add(exc.path, exc.reason)
            continue
        for side, stack, image in zip("AB", stacks, pair):
            stack.add(f"{side}/{name}", image)
    if not len(stacks[0]):
        raise skipped.nothing_readable(root, len(names))
    return stacks[0].stack(), stacks[1].stack(), skipped.note()


def _read_side_by_side(root: Path, files: list[Path], size: tuple[int, int] | None
                       ) -> tuple[np.ndarray, np.ndarray, str]:
    """The left (A) and right (B) halves of each file, uint8 (N, H, W, C) each, and the skip note."""
    stacks = ImageStack(root, size), ImageStack(root, size)
    skipped = SkippedFiles(root, unit="pair")
    for path in files:
        try:
            image = open_image(path)
        except UnreadableImage as exc:
            skipped.add(path, exc.reason)
            continue
        width, height = image.size
        if width % 2:
            raise DataError(f"{path}: width {width} is odd, so it cannot hold A and B side by side; use "
                            "images twice as wide as high, or A/ and B/ folders")
        half = width // 2
        stacks[0].add(f"{path.name} (A half)", image.crop((0, 0, half, height)))
        stacks[1].add(f"{path.name} (B half)", image.crop((half, 0, width, height)))
    if not len(stacks[0]):
        raise skipped.nothing_readable(root, len(files))
    return stacks[0].stack(), stacks[1].stack(), skipped.note()


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
        DataError: missing folder, no images, names that do not match between A/ and B/, no readable pair,
            odd widths, or different sizes without ``data.image_size``.
    """
    root = _split(_root(spec), spec.split, ("train", "test", "val"))
    size = _image_size(spec)
    if (root / "A").is_dir() and (root / "B").is_dir():
        files_a, files_b = _images_in(root / "A"), _images_in(root / "B")
        names_a, names_b = {p.name for p in files_a}, {p.name for p in files_b}
        if names_a != names_b:
            lonely = sorted(names_a ^ names_b)
            raise DataError(f"{root}: {len(lonely)} file names are in only one of A/ and B/ (e.g. {lonely[0]}); "
                            "paired folders need the same names in both")
        a, b, skipped = _read_a_b(root, sorted(names_a), size)
        return a, b, f"paired_folder {root} (A/ and B/){skipped}"
    a, b, skipped = _read_side_by_side(root, _images_in(root), size)
    return a, b, f"paired_folder {root} (A|B side by side){skipped}"


def load_unpaired(spec: DataSpec) -> tuple[np.ndarray, np.ndarray, str]:
    """The A and B images of an ``unpaired_folder`` (``trainA``/``trainB`` or ``testA``/``testB``).

    Raises:
        DataError: a missing domain folder, no images or no readable image in one, or different sizes
            without ``data.image_size``.
    """
    root = _root(spec)
    skipped = SkippedFiles(root)
    domains = []
    for side in ("A", "B"):
        folder = root / f"{spec.split}{side}"
        if not folder.is_dir():
            raise DataError(f"{root}: no {spec.split}{side}/ folder; unpaired data needs trainA/, trainB/ "
                            "(and testA/, testB/ for evaluation)")
        domains.append(read_images(_images_in(folder), folder, _image_size(spec), skipped).images)
    return domains[0], domains[1], f"unpaired_folder {root} ({spec.split}A/, {spec.split}B/){skipped.note()}"
