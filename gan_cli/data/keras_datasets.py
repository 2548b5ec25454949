"""The ``mnist``, ``fashion_mnist`` and ``cifar10`` sources: local files first, then ``keras.datasets``.

Look-up order for each source:

1. ``data.path`` when set: an ``.npz`` with ``x_train``/``y_train``/``x_test``/``y_test`` (keras'
   ``mnist.npz`` layout), or for mnist and fashion_mnist a folder of IDX files;
2. fashion_mnist only: the folders in :data:`FASHION_MNIST_DIRS` (Debian's ``dataset-fashion-mnist``);
3. ``keras.datasets.<name>.load_data()``, which reads its cache under ``~/.keras/datasets`` or downloads.
   Keras (and so TensorFlow) is imported only here.

When step 3 fails (offline, say), the error says where we looked and how to supply the files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from gan_cli.data.idx import find_idx_files, read_idx_folder
from gan_cli.data.npz import read_npz
from gan_cli.data.raw import RawImages, as_labels, as_uint8_images
from gan_cli.errors import DataError
from gan_cli.recipe.schema import DataSpec

#: Folders searched for Fashion-MNIST IDX files before keras downloads them
#: (``apt-get install dataset-fashion-mnist`` puts them in the first).
FASHION_MNIST_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets/fashion-mnist"),)

#: What keras caches under ``<keras home>/datasets/`` for each data set.
KERAS_CACHE_NAMES: dict[str, str] = {
    "mnist": "mnist.npz",
    "fashion_mnist": "fashion-mnist",
    "cifar10": "cifar-10-batches-py-target",
}

#: What each data set holds, fixed by its definition: image shape (height, width, channels), train images, test
#: images, classes. ``gan train --dry-run`` sizes the networks from these when the files are not on this machine.
SHAPES: dict[str, tuple[tuple[int, int, int], int, int, int]] = {
    "mnist": ((28, 28, 1), 60000, 10000, 10),
    "fashion_mnist": ((28, 28, 1), 60000, 10000, 10),
    "cifar10": ((32, 32, 3), 50000, 10000, 10),
}

#: The files keras keeps in its ``fashion-mnist`` cache folder.
_FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                  "t10k-labels-idx1-ubyte.gz")

_IDX_FILES = ("the IDX .gz files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
              "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)")

#: What ``data.path`` may point at for each data set, for error messages.
LOCAL_FORMS: dict[str, str] = {
    "mnist": f"an mnist.npz or a folder of {_IDX_FILES}",
    "fashion_mnist": f"a fashion_mnist .npz or a folder of {_IDX_FILES}",
    "cifar10": "a cifar10 .npz with arrays x_train, y_train, x_test, y_test (uint8 (N, 32, 32, 3) images, "
               "labels 0..9)",
}


def load_mnist(spec: DataSpec) -> RawImages:
    """The ``mnist`` source: 28x28 handwritten digits, 60,000 train and 10,000 test, labels 0..9.

    Args:
        spec: the recipe's data section; ``path`` optionally names local files.

    Returns:
        uint8 (N, 28, 28, 1) images and int64 labels.

    Raises:
        DataError: ``data.path`` is set but unusable, or nothing local exists and keras cannot fetch it.
    """
    return _load("mnist", spec, ())


def load_fashion_mnist(spec: DataSpec) -> RawImages:
    """The ``fashion_mnist`` source: 28x28 clothing images, 60,000 train and 10,000 test, labels 0..9.

    Args:
        spec: the recipe's data section; ``path`` optionally names local files.

    Returns:
        uint8 (N, 28, 28, 1) images and int64 labels.

    Raises:
        DataError: ``data.path`` is set but unusable, or nothing local exists and keras cannot fetch it.
    """
    return _load("fashion_mnist", spec, FASHION_MNIST_DIRS)


def load_cifar10(spec: DataSpec) -> RawImages:
    """The ``cifar10`` source: 32x32 colour images, 50,000 train and 10,000 test, labels 0..9.

    Args:
        spec: the recipe's data section; ``path`` optionally names an ``.npz``.

    Returns:
        uint8 (N, 32, 32, 3) images and int64 labels.

    Raises:
        DataError: ``data.path`` is set but unusable, or nothing local exists and keras cannot fetch it.
    """
    return _load("cifar10", spec, ())


def fetch_with_keras(name: str) -> Any:
    """``keras.datasets.<name>.load_data()``: ((x_train, y_train), (x_test, y_test)), cached or downloaded.

    Imports keras (and TensorFlow) on first use. Exceptions from keras pass through unchanged.
    """
    import keras

    return getattr(keras.datasets, name).load_data()


def keras_cache_path(name: str) -> str:
    """Where keras caches data set ``name`` (``$KERAS_HOME/datasets/...``, else ``~/.keras/datasets/...``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return os.path.join(home, "datasets", KERAS_CACHE_NAMES[name])


def _load(name: str, spec: DataSpec, system_dirs: tuple[Path, ...]) -> RawImages:
    if spec.path is not None:
        return _from_path(name, Path(spec.path).expanduser(), spec)
    for folder in system_dirs:
        if find_idx_files(folder, spec.split)[0] is not None:
            return read_idx_folder(folder, spec.split)
    cache = keras_cache_path(name)
    cached = os.path.exists(os.path.expanduser(cache))
    try:
        (x_train, y_train), (x_test, y_test) = fetch_with_keras(name)
    except Exception as exc:  # network, cache, checksum and import failures all mean "not available"
        looked = ["data.path (not set)", *(str(folder) for folder in system_dirs), cache]
        debian = " (or apt-get install dataset-fashion-mnist)" if name == "fashion_mnist" else ""
        raise DataError(f"{name}: not found locally (looked in {', '.join(looked)}) and the download failed "
                        f"({_reason(exc)}); with a network it is fetched automatically, offline set "
                        f"data.path to {LOCAL_FORMS[name]}{debian}") from None
    x, y = (x_train, y_train) if spec.split == "train" else (x_test, y_test)
    where = f"keras.datasets.{name} {spec.split}"
    images = as_uint8_images(np.asarray(x), where)
    labels = as_labels(np.asarray(y), len(images), where)
    origin = "keras cache" if cached else "downloaded by keras to"
    return RawImages(images=images, labels=labels, description=f"{origin} {cache}")


def missing_locally(name: str, spec: DataSpec) -> str | None:
    """None when data set ``name`` can be read on this machine without a download (``data.path``, a system
    folder, keras' cache); else one line saying where it looked and how to supply the files. Reads no images."""
    if spec.path is not None:
        path = Path(spec.path).expanduser()
        return None if path.exists() else (f"{path}: not found (data.path); set data.path to {LOCAL_FORMS[name]}, "
                                           f"or remove it to let gan train download {name}")
    system_dirs = FASHION_MNIST_DIRS if name == "fashion_mnist" else ()
    if any(find_idx_files(folder, spec.split)[0] is not None for folder in system_dirs):
        return None
    cache = keras_cache_path(name)
    expanded = Path(os.path.expanduser(cache))
    cached = all((expanded / f).is_file() for f in _FASHION_FILES) if name == "fashion_mnist" else expanded.exists()
    if cached:
        return None
    looked = ["data.path (not set)", *(str(folder) for folder in system_dirs), cache]
    debian = " (or apt-get install dataset-fashion-mnist)" if name == "fashion_mnist" else ""
    return (f"{name}: not on this machine (looked in {', '.join(looked)}); gan train downloads it through "
            f"keras.datasets when online; offline set data.path to {LOCAL_FORMS[name]}{debian}")


def _from_path(name: str, path: Path, spec: DataSpec) -> RawImages:
    if path.is_dir():
        if name == "cifar10":
            raise DataError(f"{path}: is a folder; for cifar10, data.path must be an .npz file with arrays "
                            "x_train, y_train, x_test, y_test")
        return read_idx_folder(path, spec.split)
    if not path.exists():
        raise DataError(f"{path}: not found (data.path); set data.path to {LOCAL_FORMS[name]}, or remove it "
                        f"to let keras download {name}")
    return read_npz(path, spec.split, spec.x_key, spec.y_key)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
