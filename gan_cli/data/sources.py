"""The registry of image sources: ``data.source`` name -> loader returning :class:`RawImages` as stored."""

from __future__ import annotations

from collections.abc import Callable

from gan_cli.data import digits, folder, idx, keras_datasets, npz
from gan_cli.data.raw import RawImages
from gan_cli.recipe.schema import DataSpec

#: Sources of single images. The translation sources (``paired_folder``, ``unpaired_folder``) are read by
#: :mod:`gan_cli.data.pairs`.
IMAGE_SOURCES: dict[str, Callable[[DataSpec], RawImages]] = {
    "digits": digits.load,
    "mnist": keras_datasets.load_mnist,
    "fashion_mnist": keras_datasets.load_fashion_mnist,
    "cifar10": keras_datasets.load_cifar10,
    "npz": npz.load,
    "idx": idx.load,
    "folder": folder.load,
}
