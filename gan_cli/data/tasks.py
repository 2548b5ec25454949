"""Offline image-to-image tasks made from any data source's images (``data.task``), with a ground truth.

Each task turns one uint8 image batch into the two domains: A (the input) and B (the target). Because
both come from the same picture, every A has its true B, so a translation can be scored (L1, PSNR,
SSIM) without any download:

- ``edges``: A = the image's edge map (Sobel gradient magnitude, the strongest 20% of each image's
  pixels white), B = the image (the pix2pix edges → photo task);
- ``lowres``: A = the image shrunk 4x (box filter) and enlarged back (bilinear), B = the image
  (super-resolution);
- ``thicken``: A = the image, B = its strokes dilated by a 3x3 grey-level maximum (thin ↔ thick
  strokes, the unpaired CycleGAN task when A and B come from disjoint halves of the data).

NumPy, SciPy and Pillow only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

#: Fraction of each image's pixels marked as edges.
EDGE_FRACTION = 0.2
#: Down-sampling factor of ``lowres``.
LOWRES_FACTOR = 4


@dataclass(frozen=True)
class Task:
    """One task: how to make domains A and B from uint8 (N, H, W, C) images.

    ``b_is_source`` is True when domain B is the source's images themselves (so the source's own
    evaluator measures B).
    """

    make_a: Callable[[np.ndarray], np.ndarray]
    make_b: Callable[[np.ndarray], np.ndarray]
    b_is_source: bool
    description: str


def _identity(images: np.ndarray) -> np.ndarray:
    return images


def edges(images: np.ndarray) -> np.ndarray:
    """Edge maps: white (255) where the Sobel gradient magnitude of the grey image is in the top
    ``EDGE_FRACTION`` of that image's pixels (and above zero), black elsewhere; as many channels as given."""
    grey = images.astype(np.float64).mean(axis=3)
    gx = ndimage.sobel(grey, axis=2, mode="nearest")
    gy = ndimage.sobel(grey, axis=1, mode="nearest")
    magnitude = np.hypot(gx, gy)
    threshold = np.quantile(magnitude.reshape(len(images), -1), 1.0 - EDGE_FRACTION, axis=1)
    mask = (magnitude > threshold[:, None, None]) & (magnitude > 0)
    out = np.where(mask, 255, 0).astype(np.uint8)[..., np.newaxis]
    return np.repeat(out, images.shape[3], axis=3)


def lowres(images: np.ndarray) -> np.ndarray:
    """Each image shrunk ``LOWRES_FACTOR`` times with a box filter, then enlarged back (bilinear)."""
    height, width, channels = images.shape[1:]
    small = (max(1, width // LOWRES_FACTOR), max(1, height // LOWRES_FACTOR))
    out = np.empty_like(images)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if channels == 1 else image)
        back = pil.resize(small, Image.Resampling.BOX).resize((width, height), Image.Resampling.BILINEAR)
        array = np.asarray(back)
        out[i] = array[..., np.newaxis] if channels == 1 else array
    return out


def thicken(images: np.ndarray) -> np.ndarray:
    """Strokes dilated: each pixel becomes the maximum of its 3x3 neighbourhood, per channel."""
    return ndimage.grey_dilation(images, size=(1, 3, 3, 1))


TASKS: dict[str, Task] = {
    "edges": Task(edges, _identity, True, "A = edge map, B = image"),
    "lowres": Task(lowres, _identity, True, f"A = {LOWRES_FACTOR}x downsampled, B = image"),
    "thicken": Task(_identity, thicken, False, "A = image, B = 3x3-dilated strokes"),
}
"""Task name (``data.task``) -> task. Keys equal the choices of ``gan_cli.recipe.schema.TaskName``."""
