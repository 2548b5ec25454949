"""Tests of gan_cli.data: every source on tiny files written here, the recipe's preparation steps, errors.

Nothing here downloads: an autouse fixture makes any keras fetch fail the test, and the system folders
searched for Fashion-MNIST are emptied except in the one test that uses Debian's copy when installed.
"""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from gan_cli.data import SOURCES, ImageSet, RawImages, keras_datasets, load_images
from gan_cli.data.idx import read_idx
from gan_cli.data.transforms import convert_channels, resize_images, to_unit_range
from gan_cli.errors import DataError
from gan_cli.recipe.schema import DataSource, DataSpec

REAL_FETCH = keras_datasets.fetch_with_keras
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_download(name: str) -> Any:
        pytest.fail(f"test tried to fetch {name} with keras")

    monkeypatch.setattr(keras_datasets, "fetch_with_keras", no_download)
    monkeypatch.setattr(keras_datasets, "FASHION_MNIST_DIRS", ())


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzipped when the name ends in .gz)."""
    codes = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
    big = array.astype(array.dtype.newbyteorder(">"))
    magic = bytes([0, 0, codes[array.dtype.str[1:]], array.ndim])
    data = magic + struct.pack(f">{array.ndim}I", *array.shape) + big.tobytes()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def write_mnist_folder(folder: Path, count: int = 12, gz: bool = True, labels: bool = True) -> np.ndarray:
    """Tiny MNIST-layout IDX files for both splits; returns the train images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    train = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", train)
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", train[:5])
    if labels:
        write_idx(folder / f"train-labels-idx1-ubyte{suffix}", (np.arange(count) % 10).astype(np.uint8))
        write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", np.arange(5, dtype=np.uint8))
    return train


def save_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def grey(value: int, size: tuple[int, int] = (6, 5)) -> np.ndarray:
    return np.full(size, value, dtype=np.uint8)


# --------------------------------------------------------------------------------------------------
# Registry and imports


def test_sources_match_recipe_choices() -> None:
    assert set(SOURCES) == set(typing.get_args(DataSource))


def test_import_does_not_load_tensorflow() -> None:
    code = "import gan_cli.data, sys; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_source_lists_choices() -> None:
    with pytest.raises(DataError, match="valid choices: digits, mnist"):
        load_images(DataSpec(source="nope"))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# digits


def test_digits_splits_shapes_and_range() -> None:
    train = load_images(DataSpec(source="digits", split="train"))
    test = load_images(DataSpec(source="digits", split="test"))
    assert train.images.shape == (1347, 8, 8, 1) and test.images.shape == (450, 8, 8, 1)
    assert train.images.dtype == np.float32
    assert train.images.min() == -1.0 and train.images.max() == 1.0
    assert train.labels is not None and train.labels.dtype == np.int64
    assert train.num_classes == 10 and train.image_shape == (8, 8, 1)
    assert test.labels is not None and set(np.bincount(test.labels)) <= {43, 44, 45, 46}  # stratified
    assert train.description == ("digits: 1347 train images 8x8x1, 10 classes "
                                 "(scikit-learn load_digits, bundled)")
    pixels = np.round(train.images * 127.5 + 127.5)
    assert set(np.unique(pixels)) <= {round(v * 255 / 16) for v in range(17)}


def test_digits_is_deterministic_and_splits_are_disjoint() -> None:
    first = load_images(DataSpec(source="digits", split="test"))
    again = load_images(DataSpec(source="digits", split="test"))
    train = load_images(DataSpec(source="digits", split="train"))
    np.testing.assert_array_equal(first.images, again.images)
    assert first.labels is not None and again.labels is not None
    np.testing.assert_array_equal(first.labels, again.labels)
    rows = {image.tobytes() for image in train.images}
    assert sum(image.tobytes() in rows for image in first.images) < 10  # only duplicate digits coincide


def test_limit_keeps_the_first_images() -> None:
    full = load_images(DataSpec(source="digits"))
    few = load_images(DataSpec(source="digits", limit=10))
    assert few.images.shape == (10, 8, 8, 1)
    np.testing.assert_array_equal(few.images, full.images[:10])
    assert few.labels is not None and len(few.labels) == 10
    assert "(first 10 of 1347)" in few.description
    assert len(load_images(DataSpec(source="digits", limit=5000)).images) == 1347


def test_resize_and_channels_after_limit() -> None:
    data = load_images(DataSpec(source="digits", limit=3, image_size=(16, 12), channels=3))
    assert data.images.shape == (3, 16, 12, 3)
    np.testing.assert_array_equal(data.images[..., 0], data.images[..., 2])
    assert "first 3 of 1347, resized from 8x8, grey to RGB" in data.description


def test_bad_image_size_and_limit() -> None:
    with pytest.raises(DataError, match=r"data.image_size: .*got \[0, 8\]"):
        load_images(DataSpec(source="digits", image_size=(0, 8)))
    with pytest.raises(DataError, match="data.limit: expected a positive number"):
        load_images(DataSpec(source="digits", limit=0))


# --------------------------------------------------------------------------------------------------
# IDX


@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_read_idx_round_trip(tmp_path: Path, name: str) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / name, array)), array)
    wide = np.array([[1, -2], [70000, 3]], dtype=np.int32)
    out = read_idx(write_idx(tmp_path / f"wide{name}", wide))
    assert out.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, wide)


def test_read_idx_malformed(tmp_path: Path) -> None:
    bad_magic = tmp_path / "magic"
    bad_magic.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(DataError, match=r"magic.*not an IDX file|not an IDX file"):
        read_idx(bad_magic)
    full = write_idx(tmp_path / "full", np.zeros((3, 4, 4), dtype=np.uint8))
    short = tmp_path / "short"
    short.write_bytes(full.read_bytes()[:-5])
    with pytest.raises(DataError, match=r"short: IDX header says shape \(3, 4, 4\).*holds 43 bytes"):
        read_idx(short)
    broken_gz = tmp_path / "broken.gz"
    broken_gz.write_bytes(gzip.compress(full.read_bytes())[:-10])
    with pytest.raises(DataError, match="broken.gz: cannot read the file"):
        read_idx(broken_gz)
    with pytest.raises(DataError, match="file not found"):
        read_idx(tmp_path / "absent")


@pytest.mark.parametrize("gz", [True, False])
def test_idx_source(tmp_path: Path, gz: bool) -> None:
    train = write_mnist_folder(tmp_path, gz=gz)
    data = load_images(DataSpec(source="idx", path=str(tmp_path)))
    assert data.images.shape == (12, 28, 28, 1)
    np.testing.assert_array_equal(np.round(data.images[..., 0] * 127.5 + 127.5), train)
    assert data.labels is not None and list(data.labels) == [i % 10 for i in range(12)]
    test = load_images(DataSpec(source="idx", path=str(tmp_path), split="test"))
    assert test.images.shape == (5, 28, 28, 1) and test.num_classes == 5
    assert "t10k-images-idx3-ubyte" in test.description


def test_idx_source_without_labels_and_missing_files(tmp_path: Path) -> None:
    write_mnist_folder(tmp_path / "nolabels", labels=False)
    assert load_images(DataSpec(source="idx", path=str(tmp_path / "nolabels"))).labels is None
    only_test = tmp_path / "only_test"
    only_test.mkdir()
    write_idx(only_test / "t10k-images-idx3-ubyte.gz", np.zeros((2, 4, 4), dtype=np.uint8))
    with pytest.raises(DataError) as info:
        load_images(DataSpec(source="idx", path=str(only_test)))
    message = str(info.value)
    assert str(only_test) in message and "train-images-idx3-ubyte.gz" in message
    assert "set data.split: test" in message and "\n" not in message
    with pytest.raises(DataError, match="data.path: not set"):
        load_images(DataSpec(source="idx"))


def test_idx_labels_must_match_images(tmp_path: Path) -> None:
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 3, 3), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataError, match="3 labels for 4 images"):
        load_images(DataSpec(source="idx", path=str(tmp_path)))


# --------------------------------------------------------------------------------------------------
# npz


def test_npz_default_and_named_keys(tmp_path: Path) -> None:
    images = np.arange(4 * 5 * 5, dtype=np.uint8).reshape(4, 5, 5)
    path = tmp_path / "d.npz"
    np.savez(path, x_train=images, y_train=np.array([0, 1, 2, 1]), x_test=images[:2], other=images[:3] * 0)
    data = load_images(DataSpec(source="npz", path=str(path)))
    assert data.images.shape == (4, 5, 5, 1) and data.num_classes == 3
    np.testing.assert_array_equal(np.round(data.images[..., 0] * 127.5 + 127.5), images)
    assert f"({path} [x_train, y_train])" in data.description
    test = load_images(DataSpec(source="npz", path=str(path), split="test"))
    assert test.images.shape == (2, 5, 5, 1) and test.labels is None
    named = load_images(DataSpec(source="npz", path=str(path), x_key="other", y_key=None, split="test"))
    assert named.images.shape == (3, 5, 5, 1) and named.images.max() == -1.0
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.zeros((2, 3, 3, 3), dtype=np.uint8), y=np.array([[1], [0]]))
    fallback = load_images(DataSpec(source="npz", path=str(plain), split="test"))
    assert fallback.image_shape == (3, 3, 3) and fallback.labels is not None
    assert list(fallback.labels) == [1, 0]


def test_npz_float_ranges(tmp_path: Path) -> None:
    unit = np.array([0.0, 0.5, 1.0], dtype=np.float32).reshape(1, 1, 3)
    np.savez(tmp_path / "unit.npz", x=np.repeat(unit, 2, axis=0))
    data = load_images(DataSpec(source="npz", path=str(tmp_path / "unit.npz")))
    np.testing.assert_allclose(data.images[0, 0, :, 0], [-1.0, (128 - 127.5) / 127.5, 1.0])
    np.savez(tmp_path / "signed.npz", x=np.array([[[-1.0, 0.0, 1.0]]]))
    signed = load_images(DataSpec(source="npz", path=str(tmp_path / "signed.npz")))
    np.testing.assert_allclose(signed.images[0, 0, :, 0], [-1.0, (128 - 127.5) / 127.5, 1.0])
    np.savez(tmp_path / "bad.npz", x=np.array([[[0.0, 3.5]]]))
    with pytest.raises(DataError) as info:
        load_images(DataSpec(source="npz", path=str(tmp_path / "bad.npz")))
    assert "range from 0 to 3.5" in str(info.value) and "[0, 1] or [-1, 1]" in str(info.value)


def test_npz_integer_bool_images_and_bad_labels(tmp_path: Path) -> None:
    np.savez(tmp_path / "ints.npz", x=np.array([[[0, 255]]], dtype=np.int64), y=np.array([2.0]))
    ints = load_images(DataSpec(source="npz", path=str(tmp_path / "ints.npz")))
    assert list(ints.images[0, 0, :, 0]) == [-1.0, 1.0] and ints.labels is not None and ints.labels[0] == 2
    np.savez(tmp_path / "bools.npz", x=np.array([[[False, True]]]))
    bools = load_images(DataSpec(source="npz", path=str(tmp_path / "bools.npz")))
    assert list(bools.images[0, 0, :, 0]) == [-1.0, 1.0]
    np.savez(tmp_path / "neg.npz", x=np.zeros((2, 3, 3), dtype=np.uint8), y=np.array([0, -1]))
    with pytest.raises(DataError, match=r"neg.npz\[y\].*labels include -1"):
        load_images(DataSpec(source="npz", path=str(tmp_path / "neg.npz")))
    np.savez(tmp_path / "big.npz", x=np.array([[[0, 300]]], dtype=np.int16))
    with pytest.raises(DataError, match="int16 values range from 0 to 300"):
        load_images(DataSpec(source="npz", path=str(tmp_path / "big.npz")))


def test_npz_errors(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((2, 4, 4), dtype=np.uint8), labels=np.zeros(2))
    with pytest.raises(DataError, match=r"no array 'x_train' or 'x'; the file holds: images, labels; "
                                        r"set data.x_key"):
        load_images(DataSpec(source="npz", path=str(path)))
    with pytest.raises(DataError, match=r"no array 'pics' \(data.x_key\); the file holds: images, labels"):
        load_images(DataSpec(source="npz", path=str(path), x_key="pics"))
    np.savez(tmp_path / "shape.npz", x=np.zeros((2, 3, 4, 4), dtype=np.uint8))
    with pytest.raises(DataError, match="channels-first"):
        load_images(DataSpec(source="npz", path=str(tmp_path / "shape.npz")))
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip file")
    with pytest.raises(DataError, match="garbage.npz: not a NumPy .npz file"):
        load_images(DataSpec(source="npz", path=str(garbage)))
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(DataError, match="single array"):
        load_images(DataSpec(source="npz", path=str(tmp_path / "single.npy")))
    with pytest.raises(DataError, match="missing.npz: file not found"):
        load_images(DataSpec(source="npz", path=str(tmp_path / "missing.npz")))
    with pytest.raises(DataError, match="data.path: not set"):
        load_images(DataSpec(source="npz"))


# --------------------------------------------------------------------------------------------------
# folder


def test_folder_flat_without_labels(tmp_path: Path) -> None:
    for i in (2, 0, 1):
        save_png(tmp_path / f"img{i}.png", grey(10 * i))
    data = load_images(DataSpec(source="folder", path=str(tmp_path)))
    assert data.images.shape == (3, 6, 5, 1) and data.labels is None and data.num_classes is None
    np.testing.assert_array_equal(np.round(data.images[:, 0, 0, 0] * 127.5 + 127.5), [0, 10, 20])
    assert "no labels" in data.description


def test_folder_class_subfolders_and_splits(tmp_path: Path) -> None:
    for split, count in (("train", 2), ("test", 1)):
        for name, value in (("dog", 50), ("cat", 10)):
            for i in range(count):
                save_png(tmp_path / split / name / f"{i}.png", grey(value))
    (tmp_path / "train" / "empty").mkdir()
    data = load_images(DataSpec(source="folder", path=str(tmp_path)))
    assert data.labels is not None and list(data.labels) == [0, 0, 1, 1]
    np.testing.assert_array_equal(np.round(data.images[:, 0, 0, 0] * 127.5 + 127.5), [10, 10, 50, 50])
    assert data.num_classes == 2 and "cat, dog" in data.description
    test = load_images(DataSpec(source="folder", path=str(tmp_path), split="test"))
    assert len(test.images) == 2


def test_folder_mixed_sizes(tmp_path: Path) -> None:
    save_png(tmp_path / "a.png", grey(0, (4, 4)))
    save_png(tmp_path / "b.png", grey(255, (8, 6)))
    sizes = r"different sizes \(a.png is 4x4, b.png is 8x6\); set data.image_size"
    with pytest.raises(DataError, match=sizes):
        load_images(DataSpec(source="folder", path=str(tmp_path)))
    data = load_images(DataSpec(source="folder", path=str(tmp_path), image_size=(5, 5)))
    assert data.images.shape == (2, 5, 5, 1)
    np.testing.assert_allclose(data.images[1], 1.0)


def test_folder_resize_and_channels(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    colour = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    save_png(tmp_path / "a.png", colour)
    save_png(tmp_path / "b.png", grey(128, (6, 6)))
    data = load_images(DataSpec(source="folder", path=str(tmp_path)))
    assert data.image_shape == (6, 6, 3)  # one colour image makes the set RGB
    as_grey = load_images(DataSpec(source="folder", path=str(tmp_path), channels=1))
    expected = np.asarray(Image.fromarray(colour).convert("L"))
    np.testing.assert_array_equal(np.round(as_grey.images[0, ..., 0] * 127.5 + 127.5), expected)
    small = load_images(DataSpec(source="folder", path=str(tmp_path), image_size=(3, 2)))
    assert small.images.shape == (2, 3, 2, 3)
    assert small.images.min() >= -1.0 and small.images.max() <= 1.0


def test_folder_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="empty: no images"):
        load_images(DataSpec(source="folder", path=str(empty)))
    corrupt = tmp_path / "corrupt"
    save_png(corrupt / "good.png", grey(1))
    (corrupt / "bad.png").write_bytes(b"not a png")
    survivors = load_images(DataSpec(source="folder", path=str(corrupt)))  # a bad file is skipped, not fatal
    assert len(survivors.images) == 1
    assert "skipped 1 unreadable file: bad.png (cannot identify image file)" in survivors.description
    truncated = tmp_path / "truncated"
    whole = save_png(truncated / "t.png", np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8))
    whole.write_bytes(whole.read_bytes()[:200])
    with pytest.raises(DataError, match=r"truncated: none of its 1 image file could be read \(t.png: image file is "
                                        "truncated"):
        load_images(DataSpec(source="folder", path=str(truncated)))
    mixed = tmp_path / "mixed"
    save_png(mixed / "loose.png", grey(1))
    save_png(mixed / "cls" / "a.png", grey(1))
    with pytest.raises(DataError, match="images at the top level"):
        load_images(DataSpec(source="folder", path=str(mixed)))
    only_train = tmp_path / "only_train"
    save_png(only_train / "train" / "a.png", grey(1))
    with pytest.raises(DataError, match="no test/ folder; set data.split: train"):
        load_images(DataSpec(source="folder", path=str(only_train), split="test"))
    with pytest.raises(DataError, match="folder not found"):
        load_images(DataSpec(source="folder", path=str(tmp_path / "absent")))


# --------------------------------------------------------------------------------------------------
# mnist, fashion_mnist, cifar10


def test_fashion_mnist_from_system_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_mnist_folder(tmp_path / "fashion")
    monkeypatch.setattr(keras_datasets, "FASHION_MNIST_DIRS", (tmp_path / "absent", tmp_path / "fashion"))
    data = load_images(DataSpec(source="fashion_mnist", split="test"))
    assert data.images.shape == (5, 28, 28, 1) and data.num_classes == 5
    assert str(tmp_path / "fashion") in data.description


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_fashion_mnist_from_debian(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras_datasets, "FASHION_MNIST_DIRS", (DEBIAN_FASHION,))
    data = load_images(DataSpec(source="fashion_mnist", split="test", limit=100))
    assert data.images.shape == (100, 28, 28, 1) and data.num_classes == 10
    assert data.images.min() == -1.0 and data.images.max() == 1.0


def test_mnist_from_data_path(tmp_path: Path) -> None:
    images = write_mnist_folder(tmp_path / "idx")
    from_idx = load_images(DataSpec(source="mnist", path=str(tmp_path / "idx")))
    np.savez(tmp_path / "mnist.npz", x_train=images, y_train=np.arange(12) % 10, x_test=images[:3],
             y_test=np.arange(3))
    from_npz = load_images(DataSpec(source="mnist", path=str(tmp_path / "mnist.npz")))
    np.testing.assert_array_equal(from_idx.images, from_npz.images)
    assert from_npz.image_shape == (28, 28, 1) and from_npz.num_classes == 10
    with pytest.raises(DataError, match=r"absent.npz: not found \(data.path\)"):
        load_images(DataSpec(source="mnist", path=str(tmp_path / "absent.npz")))
    with pytest.raises(DataError, match="for cifar10, data.path must be an .npz"):
        load_images(DataSpec(source="cifar10", path=str(tmp_path / "idx")))


def test_keras_arrays_get_channels_and_flat_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    x = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    y = np.array([[3], [1], [0], [9]], dtype=np.uint8)
    monkeypatch.setattr(keras_datasets, "fetch_with_keras", lambda name: ((x, y), (x[:1], y[:1])))
    data = load_images(DataSpec(source="cifar10"))
    assert data.images.shape == (4, 32, 32, 3) and data.labels is not None
    assert data.labels.shape == (4,) and data.num_classes == 10
    assert f"downloaded by keras to {tmp_path}" in data.description
    grey_x = np.zeros((2, 28, 28), dtype=np.uint8)
    monkeypatch.setattr(keras_datasets, "fetch_with_keras", lambda name: ((grey_x, y[:2]), (grey_x, y[:2])))
    assert load_images(DataSpec(source="mnist", split="test")).image_shape == (28, 28, 1)


def test_offline_error_says_how_to_supply_files(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(name: str) -> Any:
        raise OSError("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras_datasets, "fetch_with_keras", offline)
    monkeypatch.setattr(keras_datasets, "FASHION_MNIST_DIRS", (Path("/nowhere/fashion-mnist"),))
    with pytest.raises(DataError) as info:
        load_images(DataSpec(source="fashion_mnist"))
    message = str(info.value)
    assert "\n" not in message and "data.path (not set)" in message and "/nowhere/fashion-mnist" in message
    assert "name resolution" in message and "apt-get install dataset-fashion-mnist" in message


def test_mnist_offline_through_keras(monkeypatch: pytest.MonkeyPatch) -> None:
    keras = pytest.importorskip("keras")

    def offline(*args: Any, **kwargs: Any) -> Any:
        raise Exception("URL fetch failure on https://storage.googleapis.com/mnist.npz: None -- no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.setattr(keras_datasets, "fetch_with_keras", REAL_FETCH)
    with pytest.raises(DataError) as info:
        load_images(DataSpec(source="mnist"))
    message = str(info.value)
    assert message.startswith("mnist: not found locally (looked in data.path (not set), ")
    assert "mnist.npz" in message and "no network" in message
    assert "offline set data.path to an mnist.npz or a folder of the IDX .gz files" in message


# --------------------------------------------------------------------------------------------------
# Building blocks


def test_transforms() -> None:
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, size=(3, 5, 7, 3), dtype=np.uint8)
    grey_images = convert_channels(rgb, 1)
    for image, converted in zip(rgb, grey_images, strict=True):
        np.testing.assert_array_equal(converted[..., 0], np.asarray(Image.fromarray(image).convert("L")))
    np.testing.assert_array_equal(convert_channels(grey_images, 3)[..., 1:2], grey_images)
    assert resize_images(rgb, (10, 4)).shape == (3, 10, 4, 3)
    assert resize_images(grey_images, (2, 2)).shape == (3, 2, 2, 1)
    scaled = to_unit_range(np.array([0, 255], dtype=np.uint8))
    assert scaled.dtype == np.float32 and list(scaled) == [-1.0, 1.0]


def test_raw_images_rejects_inconsistent_values() -> None:
    with pytest.raises(ValueError):
        RawImages(images=np.zeros((2, 4, 4, 2), dtype=np.uint8), labels=None, description="")
    with pytest.raises(ValueError):
        RawImages(images=np.zeros((2, 4, 4, 1), dtype=np.uint8), labels=np.zeros(3, dtype=np.int64),
                  description="")
    image_set = ImageSet(images=np.zeros((1, 2, 3, 1), dtype=np.float32), labels=None, description="x")
    assert image_set.image_shape == (2, 3, 1) and image_set.num_classes is None


def test_folder_scales_16_bit_png_instead_of_clipping(tmp_path: Path) -> None:
    from PIL import Image

    values = np.linspace(0, 65535, 64).reshape(8, 8).astype(np.uint16)
    for name in ("a.png", "b.png"):
        Image.fromarray(values).save(tmp_path / name)
    images = load_images(DataSpec(source="folder", path=str(tmp_path))).images
    assert images.min() == pytest.approx(-1.0) and images.max() == pytest.approx(1.0)
    assert (images == 1.0).mean() < 0.05
