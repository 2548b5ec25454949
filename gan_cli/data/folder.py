"""The ``folder`` source: a directory of PNG/JPEG images, one sub-folder per class when labelled.

Layouts understood (``data.path`` points at ROOT):

- ``ROOT/*.png``: unlabelled images;
- ``ROOT/<class>/**/*.png``: one class per sub-folder that holds images, labels = index in the sorted
  sub-folder names;
- either of those inside ``ROOT/train/`` and ``ROOT/test/``: ``data.split`` picks one.

Images are read in sorted path order, as greyscale ("L") unless any of them is in a colour mode, then
all as RGB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from gan_cli.data.raw import RawImages
from gan_cli.data.transforms import resize_image
from gan_cli.errors import DataError
from gan_cli.recipe import DataSpec

#: File name endings (lower case) read as images.
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg")

#: Pillow modes that hold no colour; any other mode makes the whole set RGB.
GREY_MODES: frozenset[str] = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def load(spec: DataSpec) -> RawImages:
    """The ``folder`` source: every image under ``spec.path`` (or its ``train/``/``test/`` folder).

    Images of different sizes are resized here to ``spec.image_size`` (they could not be stacked
    otherwise); images of one size are left for :func:`gan_cli.data.load_images` to resize.

    Args:
        spec: the recipe's data section; ``path`` names the folder.

    Returns:
        uint8 (N, H, W, 1 or 3) images; labels when the images sit in class sub-folders.

    Raises:
        DataError: ``data.path`` is not set or not a folder, no images are found, images sit both at the
            top level and in class folders, an image cannot be read, or sizes differ and
            ``data.image_size`` is not set.
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
    headers = [peek_image(path) for path in files]
    mode = "RGB" if any(m not in GREY_MODES for m, _ in headers) else "L"
    sizes = {size for _, size in headers}
    note = ""
    if len(sizes) == 1:
        width, height = sizes.pop()
        target = (height, width)
    elif spec.image_size is None:
        (first, (w1, h1)), (other, (w2, h2)) = _two_sizes(files, headers)
        raise DataError(f"{root}: images have different sizes ({first.name} is {h1}x{w1}, {other.name} is "
                        f"{h2}x{w2}); set data.image_size: [height, width] to resize them all")
    else:
        target = (spec.image_size[0], spec.image_size[1])
        note = f", {len(sizes)} sizes resized to {target[0]}x{target[1]}"
    channels = 3 if mode == "RGB" else 1
    images = np.empty((len(files), target[0], target[1], channels), dtype=np.uint8)
    for i, path in enumerate(files):
        images[i] = read_image(path, mode, target)
    description = f"folder {root}"
    if class_names:
        shown = ", ".join(class_names[:5]) + (", ..." if len(class_names) > 5 else "")
        description += f", class sub-folders {shown}"
    return RawImages(images=images, labels=labels, description=description + note)


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


def peek_image(path: Path) -> tuple[str, tuple[int, int]]:
    """The image's mode and (width, height), from its header only."""
    try:
        with Image.open(path) as image:
            return image.mode, image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _unreadable(path, exc) from None


def read_image(path: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    """The image as uint8 (height, width, 1 or 3) in ``mode``, resized to ``size`` = (height, width)."""
    try:
        with Image.open(path) as image:
            converted = resize_image(_to_8_bit(image).convert(mode), size)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _unreadable(path, exc) from None
    array = np.asarray(converted, dtype=np.uint8)
    return array[..., np.newaxis] if array.ndim == 2 else array


def _to_8_bit(image: Image.Image) -> Image.Image:
    """16- and 32-bit integer grey images scaled to 8 bits (Pillow's ``convert("L")`` would clip them)."""
    if image.mode not in ("I;16", "I;16B", "I;16L", "I"):
        return image
    values = np.asarray(image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
    return Image.fromarray(np.clip(np.rint(values * 255.0 / top), 0, 255).astype(np.uint8), mode="L")


def _unreadable(path: Path, exc: BaseException) -> DataError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DataError(f"{path}: cannot read the image ({reason}); replace or remove the file")


def _two_sizes(files: list[Path], headers: list[tuple[str, tuple[int, int]]]
               ) -> tuple[tuple[Path, tuple[int, int]], tuple[Path, tuple[int, int]]]:
    """The first image and the first one whose size differs from it, for the error message."""
    first_size = headers[0][1]
    index = next(i for i, (_, size) in enumerate(headers) if size != first_size)
    return (files[0], first_size), (files[index], headers[index][1])
