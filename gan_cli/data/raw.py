"""What every data source returns, and the checks that turn a user's array into one.

A source reads images as they are stored (uint8, (N, H, W, C)) and says where they came from; the
recipe's ``limit``, ``image_size`` and ``channels`` and the scaling to [-1, 1] are applied afterwards by
:func:`gan_cli.data.load_images`, the same way for every source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_cli.errors import DataError

#: Tolerance for float images that should lie in [0, 1] or [-1, 1] (rounding in whoever wrote them).
_RANGE_SLACK = 1e-4


@dataclass(frozen=True)
class RawImages:
    """Images as a source read them: uint8 (N, H, W, C) with C 1 or 3, optional int64 labels (N,).

    ``description`` says where the images came from (a file path, "scikit-learn, bundled", the keras
    cache); :func:`gan_cli.data.load_images` puts it at the end of the data set's one-line description.

    Raises:
        ValueError: a source built an inconsistent value (a bug in the source, not a user error).
    """

    images: np.ndarray
    labels: np.ndarray | None
    description: str

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[3] not in (1, 3):
            raise ValueError(f"RawImages.images must be uint8 (N, H, W, 1 or 3), got {self.images.dtype} "
                             f"{self.images.shape}")
        if len(self.images) == 0:
            raise ValueError("RawImages.images must hold at least one image")
        count = len(self.images)
        if self.labels is not None and (self.labels.dtype != np.int64 or self.labels.shape != (count,)):
            raise ValueError(f"RawImages.labels must be int64 ({len(self.images)},), got {self.labels.dtype} "
                             f"{self.labels.shape}")


def as_uint8_images(array: np.ndarray, where: str) -> np.ndarray:
    """Images stored by a user as uint8 (N, H, W, C), whatever reasonable form they came in.

    Accepted: shapes (N, H, W) (a channel axis is added) and (N, H, W, C) with C 1 or 3; uint8 as is;
    other integers with values in 0..255; booleans as 0 and 255; floats in [0, 1] (times 255); floats in
    [-1, 1] (mapped to 0..255). Floats that fit both ranges are read as [0, 1].

    Args:
        array: the images as stored.
        where: what to name in an error, e.g. ``"/data/faces.npz[x_train]"``.

    Returns:
        A uint8 array of shape (N, H, W, C).

    Raises:
        DataError: no images, an unsupported shape or dtype, or values outside every accepted range.
    """
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4 or array.shape[3] not in (1, 3):
        hint = ""
        if array.ndim == 4 and array.shape[1] in (1, 3):
            hint = " (it looks channels-first: transpose it to (N, H, W, C))"
        raise DataError(f"{where}: images have shape {array.shape}; expected (N, H, W) or (N, H, W, C) "
                        f"with C 1 or 3{hint}")
    if len(array) == 0 or array.size == 0:
        raise DataError(f"{where}: holds no images (shape {array.shape})")
    if array.dtype == np.uint8:
        return array
    accepted = "expected uint8 0..255, integers in 0..255, or floats in [0, 1] or [-1, 1]"
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(array.dtype, np.integer):
        smallest, largest = int(array.min()), int(array.max())
        if smallest < 0 or largest > 255:
            raise DataError(f"{where}: {array.dtype} values range from {smallest} to {largest}; {accepted}")
        return array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.floating):
        raise DataError(f"{where}: images have dtype {array.dtype}; {accepted}")
    if not np.all(np.isfinite(array)):
        raise DataError(f"{where}: images contain NaN or infinite values; {accepted}")
    low, high = float(array.min()), float(array.max())
    if low >= -_RANGE_SLACK and high <= 1 + _RANGE_SLACK:
        scaled = array * 255.0
    elif low >= -1 - _RANGE_SLACK and high <= 1 + _RANGE_SLACK:
        scaled = (array + 1.0) * 127.5
    else:
        raise DataError(f"{where}: {array.dtype} values range from {low:.4g} to {high:.4g}; {accepted}")
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def as_labels(array: np.ndarray, count: int, where: str) -> np.ndarray:
    """Class labels as int64 (N,), from (N,) or (N, 1) non-negative integers (or integral floats).

    Args:
        array: the labels as stored.
        count: the number of images they belong to.
        where: what to name in an error.

    Returns:
        An int64 array of shape (count,).

    Raises:
        DataError: wrong shape or length, or values that are not non-negative integers.
    """
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(f"{where}: labels have shape {array.shape}; expected (N,) or (N, 1) class indices "
                        "(one-hot labels: store argmax instead)")
    if len(array) != count:
        raise DataError(f"{where}: {len(array)} labels for {count} images; they must match one to one")
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise DataError(f"{where}: labels have dtype {array.dtype}; expected integer class indices")
    is_float = np.issubdtype(array.dtype, np.floating)
    if is_float and not np.all(np.isfinite(array) & (array == np.round(array))):
        raise DataError(f"{where}: labels are not whole numbers; expected integer class indices 0..K-1")
    labels = array.astype(np.int64)
    if len(labels) and labels.min() < 0:
        raise DataError(f"{where}: labels include {int(labels.min())}; expected class indices 0..K-1")
    return labels
