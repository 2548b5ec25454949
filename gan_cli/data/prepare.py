"""The recipe's preparation of stored images, the same for every source: limit, resize, channels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_cli.data.raw import RawImages
from gan_cli.data.transforms import convert_channels, resize_images
from gan_cli.errors import DataError
from gan_cli.recipe.schema import DataSpec


@dataclass(frozen=True)
class Prepared:
    """uint8 (N, H, W, C) images after the recipe's preparation, their labels, and what was done."""

    images: np.ndarray
    labels: np.ndarray | None
    notes: list[str]


def check_spec(spec: DataSpec) -> None:
    """Raise a one-line DataError for a ``limit`` or ``image_size`` no images can satisfy."""
    if spec.limit is not None and spec.limit < 1:
        raise DataError(f"data.limit: expected a positive number of images, got {spec.limit}")
    for key in ("image_size", "crop_size"):
        size = getattr(spec, key)
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise DataError(f"data.{key}: expected [height, width] of positive integers, got {list(size)}")


def prepare(raw: RawImages | np.ndarray, spec: DataSpec, labels: np.ndarray | None = None) -> Prepared:
    """Keep the first ``spec.limit`` images, resize to ``spec.image_size`` (Pillow, LANCZOS when shrinking,
    bilinear when enlarging), convert to ``spec.channels`` (grey to RGB by repetition, RGB to grey by
    Pillow's luminance formula).

    Args:
        raw: a source's images, or a bare uint8 (N, H, W, C) array with ``labels``.
        spec: the recipe's data section.
        labels: labels of a bare array.
    """
    images = raw.images if isinstance(raw, RawImages) else raw
    labels = raw.labels if isinstance(raw, RawImages) else labels
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
    return Prepared(images, labels, notes)
