"""Image-to-image training data: domains A and B, paired or not, with the ground truth where one exists.

Sources: ``data.task`` (an offline task made from any image source, :mod:`gan_cli.data.tasks`) or the
folders of :mod:`gan_cli.data.pair_folders`. The recipe's ``limit``, ``image_size`` and ``channels`` apply
to the source's images before a task is made from them; ``direction: b2a`` swaps the domains last.

For unpaired training (CycleGAN) a task's images are split into disjoint halves: A is made from the first
half and B from the second, so no image is seen in both domains; each A still has its true B (and each
B its true A) for scoring.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from gan_cli.data import pair_folders
from gan_cli.data.prepare import check_spec, prepare
from gan_cli.data.sources import IMAGE_SOURCES
from gan_cli.data.tasks import TASKS
from gan_cli.data.transforms import to_unit_range
from gan_cli.errors import DataError
from gan_cli.recipe.schema import DataSpec

#: Sources that hold image pairs or two domains rather than single images.
PAIR_SOURCES = ("paired_folder", "unpaired_folder")


@dataclass(frozen=True)
class ImagePairs:
    """Two image domains for translation, float32 in [-1, 1] (``(x - 127.5) / 127.5``).

    Attributes:
        a: (N, H, W, Ca) inputs of the A -> B direction.
        b: (M, H, W, Cb) images of domain B; when ``paired``, M == N and ``b[i]`` is ``a[i]``'s target.
        paired: whether ``a[i]`` and ``b[i]`` belong together.
        a_truth: the true B of each A (N, H, W, Cb), or None without ground truth.
        b_truth: the true A of each B (M, H, W, Ca), or None.
        labels_a, labels_b: class labels of the images each domain was made from, when the source has them.
        description: one line saying what was loaded.
    """

    a: np.ndarray
    b: np.ndarray
    paired: bool
    a_truth: np.ndarray | None
    b_truth: np.ndarray | None
    labels_a: np.ndarray | None
    labels_b: np.ndarray | None
    description: str

    @property
    def shape_a(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.a.shape[1:])  # type: ignore[return-value]

    @property
    def shape_b(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.b.shape[1:])  # type: ignore[return-value]

    def swapped(self) -> ImagePairs:
        """The same data with A and B exchanged (``direction: b2a``)."""
        return ImagePairs(self.b, self.a, self.paired, self.b_truth, self.a_truth, self.labels_b, self.labels_a,
                          self.description + ", B -> A")


def is_translation(spec: DataSpec) -> bool:
    """Whether the data section describes translation data (a task or a pair source)."""
    return spec.task is not None or spec.source in PAIR_SOURCES


def load_pairs(spec: DataSpec, *, paired: bool) -> ImagePairs:
    """The recipe's translation data for ``spec.split``.

    Args:
        spec: the recipe's data section, with ``task`` set or a pair source.
        paired: pairs (pix2pix) or disjoint halves (CycleGAN) from a task; folders decide for themselves.

    Raises:
        DataError: no translation data described, pix2pix on unpaired folders, or any problem reading them.
    """
    check_spec(spec)
    if spec.task is not None:
        pairs = _from_task(spec, paired)
    elif spec.source == "paired_folder":
        a, b, where = pair_folders.load_paired(spec)
        a, b = prepare(a, spec).images, prepare(b, spec).images
        pairs = ImagePairs(to_unit_range(a), to_unit_range(b), True, None, None, None, None,
                           f"{spec.source}: {len(a)} {spec.split} pairs {_size(a)} -> {_size(b)} ({where})")
        pairs = replace(pairs, a_truth=pairs.b, b_truth=pairs.a) if paired else replace(pairs, paired=False)
    elif spec.source == "unpaired_folder":
        if paired:
            raise DataError("data.source: unpaired_folder has no pairs; use family: cyclegan, or a paired_folder")
        a, b, where = pair_folders.load_unpaired(spec)
        a, b = prepare(a, spec).images, prepare(b, spec).images
        pairs = ImagePairs(to_unit_range(a), to_unit_range(b), False, None, None, None, None,
                           f"{spec.source}: {len(a)} A and {len(b)} B {spec.split} images {_size(a)} ({where})")
    else:
        raise DataError(f"data: {spec.source} holds single images; set data.task (edges, lowres, thicken) or use "
                        "a paired_folder / unpaired_folder source for translation")
    return pairs.swapped() if spec.direction == "b2a" else pairs


def _size(images: np.ndarray) -> str:
    return "x".join(str(d) for d in images.shape[1:])


def _from_task(spec: DataSpec, paired: bool) -> ImagePairs:
    loader = IMAGE_SOURCES.get(spec.source)
    if loader is None:
        raise DataError(f"data.task: needs a source of single images ({', '.join(IMAGE_SOURCES)}), "
                        f"not {spec.source}")
    raw = loader(spec)
    prepared = prepare(raw, spec)
    task = TASKS[spec.task]  # type: ignore[index]
    images, labels = prepared.images, prepared.labels
    noted = f" ({', '.join(prepared.notes)})" if prepared.notes else ""
    where = f"{spec.source}: {spec.task} task, {task.description}{noted} ({raw.description})"
    if paired:
        a, b = to_unit_range(task.make_a(images)), to_unit_range(task.make_b(images))
        return ImagePairs(a, b, True, b, a, labels, labels, f"{where}: {len(a)} {spec.split} pairs {_size(a)}")
    if len(images) < 2:
        raise DataError(f"data: {len(images)} image; unpaired training needs at least 2 (two disjoint halves)")
    half = len(images) // 2
    first, second = images[:half], images[half:]
    a, b = to_unit_range(task.make_a(first)), to_unit_range(task.make_b(second))
    return ImagePairs(a, b, False, to_unit_range(task.make_b(first)), to_unit_range(task.make_a(second)),
                      None if labels is None else labels[:half], None if labels is None else labels[half:],
                      f"{where}: unpaired halves, {len(a)} A and {len(b)} B {spec.split} images {_size(a)}")
