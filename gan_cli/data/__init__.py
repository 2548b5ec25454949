"""Training images from the recipe's data source, as float32 (N, H, W, C) in [-1, 1] with optional labels.

Each kind of source is one module whose ``load(spec)`` returns :class:`RawImages` (uint8, as stored);
:func:`load_images` then applies the recipe's ``limit``, ``image_size`` and ``channels``, in that order,
and scales to [-1, 1]. Nothing here imports TensorFlow; only the keras download path does, when used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gan_cli.data.keras_datasets import SHAPES, missing_locally
from gan_cli.data.prepare import check_spec, prepare
from gan_cli.data.raw import RawImages
from gan_cli.data.sources import IMAGE_SOURCES
from gan_cli.data.transforms import to_unit_range
from gan_cli.errors import DataError
from gan_cli.recipe.schema import DataSpec

__all__ = ["SOURCES", "DataOutline", "ImageSet", "RawImages", "load_images", "outline_images"]

#: Every ``data.source`` name; keys equal the choices of ``gan_cli.recipe.schema.DataSource``. The translation
#: sources map to None: :func:`gan_cli.data.pairs.load_pairs` reads them.
SOURCES: dict[str, object] = {**IMAGE_SOURCES, "paired_folder": None, "unpaired_folder": None}


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


@dataclass(frozen=True)
class DataOutline:
    """What is known of a data set's prepared images without reading them (for ``gan train --dry-run``).

    Attributes:
        image_shape: (height, width, channels) after the recipe's ``image_size`` and ``channels``.
        count: images of the recipe's split, after ``limit``.
        num_classes: classes of the labels.
        description: one line, like :attr:`ImageSet.description`, saying the files were not read.
        missing: one line saying why the files cannot be read here and where they were looked for; None when
            they can be (then read them: a local copy may differ from the definition).
    """

    image_shape: tuple[int, int, int]
    count: int
    num_classes: int
    description: str
    missing: str | None


def outline_images(spec: DataSpec) -> DataOutline | None:
    """The shape, number and classes of the images :func:`load_images` would return for a data set whose shape is
    fixed by its definition (mnist, fashion_mnist, cifar10), without reading or downloading anything; None for
    every other source (digits is read, it is bundled; npz, idx and folders say their shape only in their files).

    Raises:
        DataError: an invalid ``limit`` or ``image_size``.
    """
    if spec.source not in SHAPES:
        return None
    check_spec(spec)
    (height, width, channels), train, test, classes = SHAPES[spec.source]
    if spec.image_size is not None:
        height, width = int(spec.image_size[0]), int(spec.image_size[1])
    channels = spec.channels or channels
    count = train if spec.split == "train" else test
    count = min(count, spec.limit) if spec.limit is not None else count
    description = (f"{spec.source}: {count} {spec.split} images {height}x{width}x{channels}, {classes} classes "
                   "(from the data set's definition; its files were not read)")
    return DataOutline((height, width, channels), count, classes, description, missing_locally(spec.source, spec))


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

    For translation data (``data.task`` or a pair source) the images are those of the target domain B
    (what a translation's outputs are measured against).

    Raises:
        DataError: unknown source, invalid ``image_size``, or any problem the source reports (missing
            or malformed files, offline without local copies), always as one line naming what to fix.
    """
    if spec.source not in SOURCES:
        raise DataError(f"data.source: unknown source {spec.source!r}; valid choices: {', '.join(SOURCES)}")
    check_spec(spec)
    from gan_cli.data.pairs import is_translation, load_pairs  # pairs imports this package's modules

    if is_translation(spec):
        pairs = load_pairs(spec, paired=spec.source != "unpaired_folder")
        return ImageSet(pairs.b, pairs.labels_b, f"target domain B of {pairs.description}")
    raw = IMAGE_SOURCES[spec.source](spec)
    prepared = prepare(raw, spec)
    images, labels, notes = prepared.images, prepared.labels, prepared.notes
    result = ImageSet(images=to_unit_range(images), labels=labels, description="")
    height, width, channels = result.image_shape
    noted = f" ({', '.join(notes)})" if notes else ""
    classes = "no labels" if result.num_classes is None else f"{result.num_classes} classes"
    description = (f"{spec.source}: {len(images)} {spec.split} images {height}x{width}x{channels}{noted}, "
                   f"{classes} ({raw.description})")
    return replace(result, description=description)
