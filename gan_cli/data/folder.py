"""The ``folder`` source: a directory of PNG/JPEG images, one sub-folder per class when labelled.

Layouts understood (``data.path`` points at ROOT):

- ``ROOT/*.png``: unlabelled images;
- ``ROOT/<class>/**/*.png``: one class per sub-folder that holds images, labels = index in the sorted
  sub-folder names;
- either of those inside ``ROOT/train/`` and ``ROOT/test/``: ``data.split`` picks one.

Images are read in sorted path order, as greyscale ("L") unless any of them is in colour, then all as
RGB; modes are converted and unreadable files (empty, not an image, corrupt, truncated, too large) are
skipped, as :mod:`gan_cli.data.image_files` describes. The description names what was skipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gan_cli.data.image_files import SkippedFiles, read_images
from gan_cli.data.image_files import read_image as read_image  # gan_cli.sampling reads its inputs with it
from gan_cli.data.raw import RawImages
from gan_cli.errors import DataError
from gan_cli.recipe.schema import DataSpec

#: File name endings (lower case) read as images.
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg")


def load(spec: DataSpec) -> RawImages:
    """The ``folder`` source: every image under ``spec.path`` (or its ``train/``/``test/`` folder).

    Images of different sizes are resized here to ``spec.image_size`` (they could not be stacked
    otherwise); images of one size are left for :func:`gan_cli.data.load_images` to resize. Unreadable
    files are skipped; the description ends with how many and the first few names with the reason.

    Args:
        spec: the recipe's data section; ``path`` names the folder.

    Returns:
        uint8 (N, H, W, 1 or 3) images; labels when the images sit in class sub-folders.

    Raises:
        DataError: ``data.path`` is not set or not a folder, no images are found, images sit both at the
            top level and in class folders, no image of the folder (or of a class sub-folder) can be read,
            or sizes differ and ``data.image_size`` is not set.
    """
    if spec.path is None:
        raise DataError("data.path: not set; the folder source needs a folder of PNG/JPEG images "
                        "(one sub-folder per class for labels)")
    root = Path(spec.path).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "folder not found"
        raise DataError(f"{root}: {what}; set data.path to a folder of PNG/JPEG images")
    try:
        root = _split_folder(root, spec.split)
        files, labels, class_names = _list_images(root)
    except OSError as exc:
        raise DataError(f"{exc.filename or root}: cannot list the folder ({exc.strerror or exc}); check its "
                        "permissions") from None
    size = None if spec.image_size is None else (int(spec.image_size[0]), int(spec.image_size[1]))
    read = read_images(files, root, size)
    description = f"folder {root}"
    if labels is not None:
        _check_every_class_read(root, files, labels, class_names, read.kept, read.skipped)
        labels = labels[read.kept]
        shown = ", ".join(class_names[:5]) + (", ..." if len(class_names) > 5 else "")
        description += f", class sub-folders {shown}"
    return RawImages(images=read.images, labels=labels, description=description + read.resized + read.skipped.note())


def _check_every_class_read(root: Path, files: list[Path], labels: np.ndarray, class_names: list[str],
                            kept: list[int], skipped: SkippedFiles) -> None:
    """Raise a DataError for a class sub-folder none of whose files could be read (its label would be
    missing, and the classes after it renumbered)."""
    read = np.bincount(labels[kept], minlength=len(class_names))
    if read.all():
        return
    empty = int(np.argmin(read))
    raise skipped.nothing_readable(root / class_names[empty], int(np.sum(labels == empty)))


def _split_folder(root: Path, split: str) -> Path:
    """ROOT/<split> when ROOT is split into train/ and test/, else ROOT."""
    names = {child.name for child in root.iterdir() if child.is_dir()}
    if not names & {"train", "test"}:
        return root
    if split in names:
        return root / split
    other = "test" if split == "train" else "train"
    raise DataError(f"{root}: has a {other}/ folder but no {split}/ folder; set data.split: {other} or "
                    f"add {root / split}")


def _list_images(root: Path) -> tuple[list[Path], np.ndarray | None, list[str]]:
    """Image files in sorted order, their labels (None without class folders) and the class names."""
    top = sorted(child for child in root.iterdir() if is_image_file(child))
    classes = []
    for folder in sorted(child for child in root.iterdir() if child.is_dir() and not _hidden(child)):
        found = sorted(path for path in folder.rglob("*") if is_image_file(path) and not _in_hidden(path, folder))
        if found:
            classes.append((folder.name, found))
    if classes and top:
        raise DataError(f"{root}: has {len(top)} images at the top level (e.g. {top[0].name}) besides class "
                        f"sub-folders ({', '.join(name for name, _ in classes[:3])}); move them into a "
                        "sub-folder per class, or remove them")
    if classes:
        files = [path for _, found in classes for path in found]
        labels = np.concatenate([np.full(len(found), i, dtype=np.int64)
                                 for i, (_, found) in enumerate(classes)])
        return files, labels, [name for name, _ in classes]
    if not top:
        endings = "/".join(IMAGE_SUFFIXES)
        raise DataError(f"{root}: no images ({endings}) in this folder or its sub-folders; set data.path "
                        "to a folder of images (one sub-folder per class for labels)")
    return top, None, []


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not _hidden(path) and path.is_file()


def _hidden(path: Path) -> bool:
    return path.name.startswith(".")


def _in_hidden(path: Path, top: Path) -> bool:
    """Whether a folder between ``top`` and ``path`` is hidden (``.ipynb_checkpoints``, ``.git``)."""
    return any(part.startswith(".") for part in path.relative_to(top).parts[:-1])
