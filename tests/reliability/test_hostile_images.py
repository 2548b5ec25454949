"""Image folders with hostile content: bad files are skipped and named, odd modes converted, all-bad is one line.

Every file is made here in ``tmp_path`` with Pillow: eight kinds of unreadable file (zero bytes, text named
.png, random bytes named .jpg, JPEG magic followed by garbage, a PNG and a JPEG cut in half, and two
decompression bombs) and eleven modes (L, 1, LA, I;16, I, F, P with transparency, P with a grey palette,
RGBA, CMYK, RGB).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageFile

from gan_cli.cli import cli
from gan_cli.data import folder
from gan_cli.data.image_files import UnreadableImage, open_image
from gan_cli.data.pairs import load_pairs
from gan_cli.errors import DataError
from gan_cli.recipe.schema import DataSpec

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _no_warnings() -> Iterator[None]:
    """Reading hostile files must not leak Pillow's warnings to the user."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _save(path: Path, image: Image.Image, **options: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **options)
    return path


def _grey(path: Path, value: int, size: int = 8) -> Path:
    return _save(path, Image.new("L", (size, size), value))


def _noise(size: int = 8) -> Image.Image:
    return Image.fromarray(RNG.integers(0, 256, (size, size, 3), dtype=np.uint8))


def _cut_in_half(path: Path) -> Path:
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _write_bad_files(where: Path) -> dict[str, str]:
    """Six unreadable files in ``where``: name -> the reason the loader gives."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "a_empty.png").write_bytes(b"")
    (where / "b_text.png").write_text("this is not a picture\n")
    (where / "c_noise.jpg").write_bytes(RNG.integers(0, 256, 500, dtype=np.uint8).tobytes())
    (where / "d_magic.jpeg").write_bytes(b"\xff\xd8\xff\xe0" + RNG.integers(0, 256, 500, dtype=np.uint8).tobytes())
    _cut_in_half(_save(where / "e_half.png", _noise(40)))
    _cut_in_half(_save(where / "f_half.jpg", _noise(40)))
    return {"a_empty.png": "empty file", "b_text.png": "cannot identify image file",
            "c_noise.jpg": "cannot identify image file", "d_magic.jpeg": "",  # Pillow's words vary by version
            "e_half.png": "image file is truncated", "f_half.jpg": "image file is truncated"}


def _palette(path: Path, colours: list[int], transparency: bytes | None = None) -> Path:
    """A palette PNG: pixel (0, 0) has colour 1, the rest colour 0; ``transparency`` gives alpha per colour."""
    image = Image.new("P", (8, 8), 0)
    image.putpalette(colours + [0] * (768 - len(colours)))
    image.putpixel((0, 0), 1)
    return _save(path, image, **({"transparency": transparency} if transparency is not None else {}))


# -------------------------------------------------------------------------------------------------- modes


def _tiff(path: Path, image: Image.Image) -> Path:
    return _save(path, image, format="TIFF")


@pytest.mark.parametrize(("make", "mode", "first", "rest"), [
    (lambda p: _save(p / "x.png", Image.new("1", (8, 8), 1)), "L", [255], [255]),
    (lambda p: _save(p / "x.png", Image.new("LA", (8, 8), (90, 0))), "L", [90], [90]),  # alpha dropped
    (lambda p: _save(p / "x.png", Image.fromarray(np.full((8, 8), 65535, np.uint16))), "L", [255], [255]),
    (lambda p: _save(p / "x.png", Image.fromarray(np.full((8, 8), 32896, np.uint16))), "L", [128], [128]),
    (lambda p: _tiff(p / "x.tif", Image.new("I", (8, 8), 65535)), "L", [255], [255]),  # 32-bit, 16-bit range
    (lambda p: _tiff(p / "x.tif", Image.new("I", (8, 8), 200)), "L", [200], [200]),  # 32-bit, 8-bit range
    (lambda p: _tiff(p / "x.tif", Image.new("F", (8, 8), 0.5)), "L", [128], [128]),  # [0, 1] floats
    (lambda p: _tiff(p / "x.tif", Image.new("F", (8, 8), 300.0)), "L", [255], [255]),  # clipped
    (lambda p: _palette(p / "x.png", [0, 0, 0, 255, 0, 0], b"\x00\x80"), "RGB", [255, 0, 0], [0, 0, 0]),
    (lambda p: _palette(p / "x.png", [0, 0, 0, 77, 77, 77], b"\x00"), "L", [77], [0]),  # grey palette
    (lambda p: _save(p / "x.png", Image.new("RGBA", (8, 8), (10, 20, 30, 0))), "RGB", [10, 20, 30], [10, 20, 30]),
    (lambda p: _save(p / "x.jpg", Image.new("CMYK", (8, 8), (0, 0, 0, 0))), "RGB", [255, 255, 255], [255] * 3),
])
def test_modes_are_converted_to_8_bit_grey_or_rgb(make, mode: str, first: list[int], rest: list[int],
                                                  tmp_path: Path) -> None:
    image = open_image(make(tmp_path))
    pixels = np.asarray(image)
    assert image.mode == mode and pixels.dtype == np.uint8 and image.size == (8, 8)
    np.testing.assert_allclose(pixels[0, 0], first, atol=2)  # atol for JPEG
    np.testing.assert_allclose(pixels[7, 7], rest, atol=2)


def test_each_kind_of_bad_file_is_unreadable_with_a_short_reason(tmp_path: Path) -> None:
    reasons = _write_bad_files(tmp_path)
    for name, reason in reasons.items():
        with pytest.raises(UnreadableImage) as caught:
            open_image(tmp_path / name)
        assert reason in caught.value.reason and str(tmp_path) not in caught.value.reason, name
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_decompression_bombs_are_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    _grey(tmp_path / "small.png", 5, size=8)  # 64 pixels
    _grey(tmp_path / "warned.png", 5, size=12)  # 144: over the limit, where Pillow only warns
    _grey(tmp_path / "refused.png", 5, size=16)  # 256: over twice the limit, where Pillow refuses
    raw = folder.load(DataSpec(source="folder", path=str(tmp_path), image_size=(8, 8)))
    assert raw.images.shape == (1, 8, 8, 1)
    assert "skipped 2 unreadable files: refused.png (Image size (256 pixels) exceeds limit" in raw.description
    assert "warned.png (Image size (144 pixels) exceeds limit" in raw.description


# -------------------------------------------------------------------------------------------------- folder


def test_folder_skips_bad_files_and_converts_the_rest(tmp_path: Path) -> None:
    reasons = _write_bad_files(tmp_path)
    _save(tmp_path / "g_cmyk.jpg", Image.new("CMYK", (8, 8), (0, 0, 0, 0)))
    _save(tmp_path / "h_deep.png", Image.fromarray(np.full((8, 8), 65535, np.uint16)))
    _palette(tmp_path / "i_palette.png", [0, 0, 0, 255, 0, 0], b"\x00\x80")
    _save(tmp_path / "j_rgba.png", Image.new("RGBA", (8, 8), (10, 20, 30, 0)))
    _grey(tmp_path / "k_grey.png", 100)
    raw = folder.load(DataSpec(source="folder", path=str(tmp_path)))
    assert raw.images.shape == (5, 8, 8, 3) and raw.images.dtype == np.uint8  # colour files make the set RGB
    assert raw.images[0].min() >= 250  # CMYK white
    assert (raw.images[1] == 255).all()  # 16-bit 65535
    assert list(raw.images[2, 0, 0]) == [255, 0, 0] and list(raw.images[2, 7, 7]) == [0, 0, 0]
    assert (raw.images[3] == [10, 20, 30]).all() and (raw.images[4] == 100).all()
    shown = ", ".join(f"{name} ({reasons[name]})" for name in list(reasons)[:3])
    assert raw.description == f"folder {tmp_path}, skipped 6 unreadable files: {shown}, ..."
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_grey_files_stay_grey_and_survivors_keep_their_labels(tmp_path: Path) -> None:
    _grey(tmp_path / "cat" / "0.png", 10)
    (tmp_path / "cat" / "1.png").write_bytes(b"")
    _palette(tmp_path / "dog" / "0.png", [0, 0, 0, 200, 200, 200])  # grey palette: still grey
    raw = folder.load(DataSpec(source="folder", path=str(tmp_path)))
    assert raw.images.shape == (2, 8, 8, 1) and raw.labels is not None and list(raw.labels) == [0, 1]
    assert "skipped 1 unreadable file: cat/1.png (empty file)" in raw.description


def test_a_folder_without_a_readable_image_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    _write_bad_files(bad)
    with pytest.raises(DataError) as caught:
        folder.load(DataSpec(source="folder", path=str(bad)))
    message = str(caught.value)
    assert message.startswith(f"{bad}: none of its 6 image files could be read (a_empty.png: empty file); ")
    assert "\n" not in message and "data.path" in message
    (tmp_path / "classes" / "cat").mkdir(parents=True)
    (tmp_path / "classes" / "cat" / "x.png").write_text("no")
    _grey(tmp_path / "classes" / "dog" / "y.png", 1)
    with pytest.raises(DataError, match=r"classes/cat: none of its 1 image file could be read \(cat/x.png: cannot"):
        folder.load(DataSpec(source="folder", path=str(tmp_path / "classes")))


# -------------------------------------------------------------------------------------------------- pair folders


def test_paired_folders_skip_a_pair_with_an_unreadable_side(tmp_path: Path) -> None:
    for i in range(3):
        _grey(tmp_path / "ab" / "A" / f"{i}.png", 10 * i)
        _save(tmp_path / "ab" / "B" / f"{i}.png", Image.new("RGB", (8, 8), (0, 0, 10 * i)))
    (tmp_path / "ab" / "B" / "1.png").write_text("not a picture")
    for i in range(2):
        _save(tmp_path / "sbs" / f"{i}.png", Image.new("L", (16, 8), 30 * i))
    _cut_in_half(_save(tmp_path / "sbs" / "2.png", _noise(40).resize((80, 40))))
    ab = load_pairs(DataSpec(source="paired_folder", path=str(tmp_path / "ab")), paired=True)
    assert ab.a.shape == (2, 8, 8, 1) and ab.b.shape == (2, 8, 8, 3)
    np.testing.assert_allclose((ab.a[:, 0, 0, 0] + 1) * 127.5, [0, 20], atol=1e-3)  # pair 1 left out
    assert "skipped 1 unreadable pair: B/1.png (cannot identify image file)" in ab.description
    side = load_pairs(DataSpec(source="paired_folder", path=str(tmp_path / "sbs")), paired=True)
    assert side.a.shape == (2, 8, 8, 1)
    assert "skipped 1 unreadable pair: 2.png (image file is truncated)" in side.description
    for name in ("0.png", "2.png"):  # with B/1.png, no pair is whole
        (tmp_path / "ab" / "A" / name).write_bytes(b"")
    with pytest.raises(DataError, match=r"ab: none of its 3 image pairs could be read \(A/0.png: empty file\)"):
        load_pairs(DataSpec(source="paired_folder", path=str(tmp_path / "ab")), paired=True)


def test_unpaired_folders_skip_bad_files_in_each_domain(tmp_path: Path) -> None:
    for i in range(3):
        _grey(tmp_path / "trainA" / f"{i}.png", i)
        _save(tmp_path / "trainB" / f"{i}.jpg", Image.new("RGB", (8, 8), (200, 0, 0)))
    (tmp_path / "trainA" / "9.png").write_bytes(b"")
    (tmp_path / "trainB" / "9.jpg").write_text("x")
    pairs = load_pairs(DataSpec(source="unpaired_folder", path=str(tmp_path)), paired=False)
    assert pairs.a.shape == (3, 8, 8, 1) and pairs.b.shape == (3, 8, 8, 3)
    assert ("skipped 2 unreadable files: trainA/9.png (empty file), trainB/9.jpg (cannot identify image file)"
            in pairs.description)
    for i in range(3):
        (tmp_path / "trainB" / f"{i}.jpg").write_bytes(b"")
    with pytest.raises(DataError, match=r"trainB: none of its 4 image files could be read \(trainB/0.jpg: empty"):
        load_pairs(DataSpec(source="unpaired_folder", path=str(tmp_path)), paired=False)


# -------------------------------------------------------------------------------------------------- CLI

RECIPE = """\
name: hostile
seed: 1
data: {source: folder, path: ../photos, image_size: [16, 16]}
generator: {latent_dim: 8, widths: [16]}
discriminator: {widths: [16]}
train: {epochs: 1, batch_size: 4}
"""


def test_dry_run_reports_skipped_files_and_an_all_bad_folder_fails_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = tmp_path / "photos"  # outside the current directory, named by a relative path
    _write_bad_files(photos)
    for i in range(4):
        _save(photos / f"z{i}.png", _noise(8 + 4 * i))  # several sizes, resized to data.image_size
    work = tmp_path / "work"
    work.mkdir()
    (work / "recipe.yaml").write_text(RECIPE)
    monkeypatch.chdir(work)
    warnings.simplefilter("default")  # TensorFlow's own import-time warnings are not ours to judge
    result = CliRunner().invoke(cli, ["train", "recipe.yaml", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"(folder {photos}, 4 sizes resized to 16x16, skipped 6 unreadable files: a_empty.png" in result.output
    assert "folder: 4 train images 16x16x3" in result.output

    for i in range(4):
        (photos / f"z{i}.png").write_bytes(b"")
    result = CliRunner().invoke(cli, ["train", "recipe.yaml", "--dry-run"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: {photos}: none of its 10 image files could be read (a_empty.png: empty file); replace "
                      "them with PNG/JPEG images or set data.path to another folder"]
    assert "Traceback" not in result.output
