"""The ``digits`` source: scikit-learn's 1,797 bundled 8x8 handwritten digits, available offline.

The split is fixed and stratified: 450 test images, the other 1,347 for training
(``train_test_split(test_size=450, random_state=0, stratify=labels)``), in the order that call returns.
"""

from __future__ import annotations

import numpy as np

from gan_cli.data.raw import RawImages
from gan_cli.recipe.schema import DataSpec

#: Size of the held-out test split.
TEST_SIZE = 450


def load(spec: DataSpec) -> RawImages:
    """The bundled digits of ``spec.split``, as uint8 (N, 8, 8, 1) with labels 0..9.

    Pixel values 0..16 become ``round(v * 255 / 16)``. ``spec.path``, ``x_key`` and ``y_key`` are ignored.

    Args:
        spec: the recipe's data section.

    Returns:
        1,347 train or 450 test images with their labels.
    """
    from sklearn.datasets import load_digits  # scikit-learn is slow to import; only this source needs it
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    values, targets = np.asarray(bunch.images), np.asarray(bunch.target)
    train_idx, test_idx = train_test_split(np.arange(len(targets)), test_size=TEST_SIZE, random_state=0,
                                           stratify=targets)
    chosen = train_idx if spec.split == "train" else test_idx
    images = np.round(values[chosen] * 255.0 / 16.0).astype(np.uint8)[..., np.newaxis]
    return RawImages(images=images, labels=targets[chosen].astype(np.int64),
                     description="scikit-learn load_digits, bundled")
