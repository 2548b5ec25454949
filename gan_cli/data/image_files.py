"""Reading image files that may be hostile: decoded in full, brought to 8-bit grey or RGB, bad ones skipped.

Every file is decoded completely when read (Pillow's ``open`` reads only the header, so a truncated file
would otherwise fail later, or be filled with grey if ``ImageFile.LOAD_TRUNCATED_IMAGES`` were set; it is
never set here). A file that is empty, not an image, corrupt, truncated, or over Pillow's
decompression-bomb limit ``Image.MAX_IMAGE_PIXELS`` (Pillow only warns up to twice that; here it is
unreadable either way) cannot be read: the folder sources skip it and say so in their description.
Pillow's warnings about a file are not passed on.

Modes are converted, never refused:

- ``L`` and ``RGB`` as stored;
- ``1`` to 0 and 255; ``LA`` to ``L``;
- 16-bit grey (``I;16``, ``I;16B``, ...) scaled to 0..255 (65535 becomes 255); 32-bit ``I`` kept when its
  values stay within 0..255, else scaled as 16-bit (values over 65535 clip to 255); float ``F`` times 255
  when its values lie in [0, 1], else clipped to 0..255 (NaN becomes 0);
- palette images (``P``, ``PA``) through their palette: grey when every pixel's colour is grey, else RGB;
- any other mode (``RGBA``, ``CMYK``, ``YCbCr``, ...) to RGB by Pillow's conversion.

Alpha is dropped, not composited over a background: a transparent pixel keeps the colour stored under it,
as Keras' ``image_dataset_from_directory`` and torchvision's ``ImageFolder`` do, so a folder reads the same
here as in those tools.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from gan_cli.data.transforms import resize_image, resize_images
from gan_cli.errors import DataError

#: Integer grey modes scaled to 8 bits by value rather than clipped by Pillow's ``convert("L")``.
_INTEGER_GREY = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})

#: How many skipped files a description names; the rest are counted.
SHOWN_SKIPS = 3


class UnreadableImage(Exception):
    """A file Pillow cannot decode in full; ``reason`` says why in a few words (no path)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def open_image(path: Path) -> Image.Image:
    """The image in ``path``, decoded in full, as 8-bit ``"L"`` or ``"RGB"`` (the module's rules).

    Raises:
        UnreadableImage: the file is empty, not an image, corrupt, truncated, too large, or in a mode
            that cannot be converted.
    """
    try:
        if path.stat().st_size == 0:
            raise UnreadableImage(path, "empty file")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's notes on odd EXIF and the like are not the user's concern
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                return _to_grey_or_rgb(image)
    except UnreadableImage:
        raise
    except Exception as exc:  # decoders raise many kinds of exception on hostile bytes; each means unreadable
        raise UnreadableImage(path, _reason(exc, path)) from None


def read_image(path: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    """One image as uint8 (height, width, 1 or 3) in ``mode`` (``"L"`` or ``"RGB"``), resized to ``size``.

    Raises:
        DataError: the file cannot be read (one line naming it and why).
    """
    try:
        image = open_image(path)
    except UnreadableImage as exc:
        raise DataError(f"{path}: cannot read the image ({exc.reason}); replace or remove the file") from None
    return _as_array(resize_image(image.convert(mode), size))


def _to_grey_or_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("L", "RGB"):
        return image
    if mode in _INTEGER_GREY or mode == "F":
        return _scaled_to_8_bit(image)
    if mode in ("1", "LA"):
        return image.convert("L")
    if mode in ("P", "PA"):
        rgb = image.convert("RGBA").convert("RGB")  # via RGBA: Pillow warns on P -> RGB with transparency
        pixels = np.asarray(rgb)
        grey = np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2])
        return rgb.convert("L") if grey else rgb
    return image.convert("RGB")


def _scaled_to_8_bit(image: Image.Image) -> Image.Image:
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        values = np.nan_to_num(values, nan=0.0, posinf=255.0, neginf=0.0)
        if values.size and values.min() >= 0.0 and values.max() <= 1.0:
            values = values * 255.0
    elif image.mode.startswith("I;16") or (values.size and values.max() > 255):
        values = values * (255.0 / 65535.0)
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))


def _reason(exc: BaseException, path: Path) -> str:
    if isinstance(exc, OSError) and exc.strerror:  # the file system's words: "Permission denied"
        return exc.strerror
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.replace(f" {str(path)!r}", "").replace(f" {path.name!r}", "")


def _as_array(image: Image.Image) -> np.ndarray:
    array = np.asarray(image, dtype=np.uint8)
    return array[..., np.newaxis] if array.ndim == 2 else array


@dataclass
class SkippedFiles:
    """Unreadable files left out of a data set, with why; ``unit`` is what was lost ("file" or "pair").

    Names are shown relative to ``root``.
    """

    root: Path
    unit: str = "file"
    entries: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, path: Path, reason: str) -> None:
        self.entries.append((path, reason))

    def note(self) -> str:
        """``", skipped 2 unreadable files: a.png (empty file), b.png (...)"``, or ``""`` when none.

        At most :data:`SHOWN_SKIPS` are named; ``", ..."`` follows when there are more.
        """
        if not self.entries:
            return ""
        count = len(self.entries)
        shown = ", ".join(f"{self.name(path)} ({reason})" for path, reason in self.entries[:SHOWN_SKIPS])
        more = ", ..." if count > SHOWN_SKIPS else ""
        return f", skipped {count} unreadable {self.unit}{'s' if count != 1 else ''}: {shown}{more}"

    def nothing_readable(self, folder: Path, tried: int) -> DataError:
        """The error for ``folder``, none of whose ``tried`` files (or pairs) could be read."""
        first = next(((path, reason) for path, reason in self.entries if path.is_relative_to(folder)), None)
        example = f" ({self.name(first[0])}: {first[1]})" if first else ""
        return DataError(f"{folder}: none of its {tried} image {self.unit}{'s' if tried != 1 else ''} could be "
                         f"read{example}; replace them with PNG/JPEG images or set data.path to another folder")

    def name(self, path: Path) -> str:
        """``path`` relative to ``root`` (as given when outside it)."""
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)


class ImageStack:
    """Decoded images brought to one size and one mode, in the order added.

    Size: the first image's; when another size shows up, ``image_size`` (all images so far and after are
    resized to it), or a :class:`DataError` without it. Mode: RGB when any image is colour (grey images are
    repeated over three channels), else grey.
    """

    def __init__(self, folder: Path, image_size: tuple[int, int] | None) -> None:
        self.folder = folder
        self.image_size = image_size
        self.arrays: list[np.ndarray] = []
        self.sizes: set[tuple[int, int]] = set()
        self.first: tuple[str, tuple[int, int]] | None = None
        self.target: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.arrays)

    def add(self, name: str, image: Image.Image) -> None:
        """Append ``image`` (``"L"`` or ``"RGB"``); ``name`` identifies it in a size error.

        Raises:
            DataError: its size differs from the first image's and ``image_size`` is not set.
        """
        size = (image.height, image.width)
        if self.first is None:
            self.first = (name, size)
        elif size != self.first[1] and self.target is None:
            (first, (h1, w1)), (h2, w2) = self.first, size
            if self.image_size is None:
                raise DataError(f"{self.folder}: images have different sizes ({first} is {h1}x{w1}, {name} is "
                                f"{h2}x{w2}); set data.image_size: [height, width] to resize them all")
            self.target = self.image_size
            self.arrays = [resize_images(array[np.newaxis], self.target)[0] for array in self.arrays]
        self.sizes.add(size)
        self.arrays.append(_as_array(image if self.target is None else resize_image(image, self.target)))

    def stack(self) -> np.ndarray:
        """uint8 (N, H, W, 1 or 3) of every image added (at least one)."""
        colour = any(array.shape[2] == 3 for array in self.arrays)
        return np.stack([np.repeat(a, 3, axis=2) if colour and a.shape[2] == 1 else a for a in self.arrays])

    def note(self) -> str:
        """``", 3 sizes resized to HxW"`` when images of several sizes were resized, else ``""``."""
        if self.target is None:
            return ""
        return f", {len(self.sizes)} sizes resized to {self.target[0]}x{self.target[1]}"


@dataclass(frozen=True)
class ReadImages:
    """The readable images of a list of files.

    Attributes:
        images: uint8 (N, H, W, 1 or 3).
        kept: for each image, the index of the file it came from.
        skipped: the files left out (with those of other lists when one was shared).
        resized: ``", 2 sizes resized to HxW"`` when images of several sizes were resized, else ``""``.
    """

    images: np.ndarray
    kept: list[int]
    skipped: SkippedFiles
    resized: str


def read_images(files: Sequence[Path], folder: Path, image_size: tuple[int, int] | None,
                skipped: SkippedFiles | None = None) -> ReadImages:
    """Every readable file of ``files`` (in order), by :class:`ImageStack`'s size and mode rules.

    Args:
        files: image files found in ``folder``.
        folder: where they were found, named in errors.
        image_size: (height, width) that images of different sizes are resized to; None makes different
            sizes an error.
        skipped: where unreadable files are recorded (to describe several folders in one note); default
            a new one with names relative to ``folder``.

    Raises:
        DataError: no file is readable, or sizes differ without ``image_size``.
    """
    stack = ImageStack(folder, image_size)
    skipped = SkippedFiles(folder) if skipped is None else skipped
    kept = []
    for index, path in enumerate(files):
        try:
            image = open_image(path)
        except UnreadableImage as exc:
            skipped.add(path, exc.reason)
            continue
        stack.add(skipped.name(path), image)
        kept.append(index)
    if not kept:
        raise skipped.nothing_readable(folder, len(files))
    return ReadImages(stack.stack(), kept, skipped, stack.note())
