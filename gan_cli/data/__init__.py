"""Training images from the recipe's data source, as float32 (N, H, W, C) in [-1, 1] with optional labels.

Each kind of source is one module whose ``load(spec)`` returns :class:`RawImages` (uint8, as stored);
:func:`load_images` then applies the recipe's ``limit``, ``image_size`` and ``channels``, in that order,
and scales to [-1, 1]. Nothing here imports TensorFlow; only the keras download path does, when used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from gan_cli.data import digits, folder, idx, keras_datasets, npz
from gan_cli.data.raw import RawImages
from gan_cli.data.transforms import convert_channels, resize_images, to_unit_range
from gan_cli.errors import DataError
from gan_cli.recipe import DataSpec

__all__ = ["SOURCES", "ImageSet", "RawImages", "load_images"]

#: Source name (``data.source``) -> loader. Keys equal the choices of ``gan_cli.recipe.DataSource``.
SOURCES: dict[str, Callable[[DataSpec], RawImages]] = {
    "digits": digits.load,
    "mnist": keras_datasets.load_mnist,
    "fashion_mnist": keras_datasets.load_fashion_mnist,
    "cifar10": keras_datasets.load_cifar10,
    "npz": npz.load,
    "idx": idx.load,
    "folder": folder.load,
}


@dataclass(frozen=True)
class ImageSet:
    """A data set ready for training.

    Attributes:
        images: float32 (N, H, W, C), C 1 or 3, values ``(x - 127.5) / 127.5`` of the uint8 pixels.
        labels: int64 (N,) class indices when the source has labels, else None.
        description: one line saying what was loaded and from where, e.g.
            ``"digits: 1347 train images 8x8x1, 10 classes (scikit-learn load_digits, bundled)"``.
    """

    images: np.ndarray
    labels: np.ndarray | None
    description: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of one image."""
        _, height, width, channels = self.images.shape
        return int(height), int(width), int(channels)

    @property
    def num_classes(self) -> int | None:
        """Number of classes, 1 + the largest label (labels are 0..K-1); None without labels."""
        if self.labels is None:
            return None
        return int(self.labels.max()) + 1 if len(self.labels) else 0


def load_images(spec: DataSpec) -> ImageSet:
    """The images described by the recipe's data section, prepared for training.

    Steps: read through ``SOURCES[spec.source]``; keep the first ``spec.limit`` images; resize to
    ``spec.image_size`` (Pillow, LANCZOS when shrinking, bilinear when enlarging); convert to
    ``spec.channels`` (grey to RGB by repetition, RGB to grey by Pillow's luminance formula); scale to
    float32 [-1, 1].

    Args:
        spec: the recipe's data section.

    Returns:
        The prepared :class:`ImageSet`.

    Raises:
        DataError: unknown source, invalid ``image_size``, or any problem the source reports (missing
            or malformed files, offline without local copies), always as one line naming what to fix.
    """
    loader = SOURCES.get(spec.source)
    if loader is None:
        raise DataError(f"data.source: unknown source {spec.source!r}; valid choices: {', '.join(SOURCES)}")
    if spec.limit is not None and spec.limit < 1:
        raise DataError(f"data.limit: expected a positive number of images, got {spec.limit}")
    if spec.image_size is not None and (len(spec.image_size) != 2 or min(spec.image_size) < 1):
        raise DataError(f"data.image_size: expected [height, width] of positive integers, got "
                        f"{list(spec.image_size)}")
    raw = loader(spec)
    images, labels = raw.images, raw.labels
    notes = []
    if spec.limit is not None and spec.limit < len(images):
        notes.append(f"first {spec.limit} of {len(images)}")
        images = images[: spec.limit]
        labels = None if labels is None else labels[: spec.limit]
    if spec.image_size is not None:
        size = (int(spec.image_size[0]), int(spec.image_size[1]))
        if images.shape[1:3] != size:
            notes.append(f"resized from {images.shape[1]}x{images.shape[2]}")
            images = resize_images(images, size)
    if spec.channels is not None and images.shape[3] != spec.channels:
        notes.append("grey to RGB" if spec.channels == 3 else "RGB to grey")
        images = convert_channels(images, spec.channels)
    result = ImageSet(images=to_unit_range(images), labels=labels, description="")
    height, width, channels = result.image_shape
    noted = f" ({', '.join(notes)})" if notes else ""
    classes = "no labels" if result.num_classes is None else f"{result.num_classes} classes"
    description = (f"{spec.source}: {len(images)} {spec.split} images {height}x{width}x{channels}{noted}, "
                   f"{classes} ({raw.description})")
    return replace(result, description=description)
