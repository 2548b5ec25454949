"""Pixel conversion and grids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_cli.runs.images import auto_upscale, make_grid, save_png, to_uint8


def test_to_uint8_maps_tanh_range_and_clips() -> None:
    np.testing.assert_array_equal(to_uint8(np.array([-1.0, 0.0, 1.0, -3.0, 2.0])), [0, 128, 255, 0, 255])


def test_grid_places_images_row_by_row_with_padding() -> None:
    images = np.stack([np.full((2, 2, 1), value, np.uint8) for value in (10, 20, 30)])
    grid = make_grid(images, 2, 2, padding=1)
    assert grid.shape == (7, 7, 1)
    assert grid[1, 1, 0] == 10 and grid[1, 4, 0] == 20 and grid[4, 1, 0] == 30
    assert grid[4, 4, 0] == 0 and grid[0, 0, 0] == 0


def test_grid_upscale_and_invert() -> None:
    images = np.zeros((1, 2, 2, 1), np.uint8)
    grid = make_grid(images, 1, 1, padding=0, upscale=3, invert=True)
    assert grid.shape == (6, 6, 1) and (grid == 255).all()
    assert auto_upscale(8) == 4 and auto_upscale(28) == 1 and auto_upscale(32) == 1


def test_grid_rejects_too_many_images() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        make_grid(np.zeros((5, 2, 2, 1), np.uint8), 2, 2)


def test_save_png_round_trips_grey_and_rgb(tmp_path: Path) -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    rgb = np.arange(36, dtype=np.uint8).reshape(3, 4, 3)
    np.testing.assert_array_equal(np.asarray(Image.open(save_png(tmp_path / "g.png", grey))), grey[..., 0])
    np.testing.assert_array_equal(np.asarray(Image.open(save_png(tmp_path / "c.png", rgb))), rgb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "g.png"]
