"""Image arrays to pixels and files: [-1, 1] floats to uint8, grids, PNGs. NumPy and Pillow only."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from gan_cli.files import atomic_path


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Map images in [-1, 1] to uint8 in [0, 255] (values outside are clipped).

    Args:
        images: float array of any shape, nominally in [-1, 1] (a tanh generator's output).

    Returns:
        uint8 array of the same shape.
    """
    scaled = (np.asarray(images, dtype=np.float32) + 1.0) * 127.5
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def auto_upscale(height: int, min_cell: int = 28) -> int:
    """The smallest integer repeat factor that makes a cell at least ``min_cell`` pixels tall."""
    return max(1, math.ceil(min_cell / max(1, height)))


def make_grid(images: np.ndarray, rows: int, cols: int, *, padding: int = 2, upscale: int = 1,
              invert: bool = False) -> np.ndarray:
    """Tile uint8 images into one picture, row by row; missing cells stay blank.

    Args:
        images: uint8 (N, H, W, C) with C 1 or 3 and N <= rows * cols.
        rows, cols: grid size.
        padding: blank pixels between cells (after upscaling).
        upscale: nearest-neighbour repeat factor per cell, so small images stay visible.
        invert: dark ink on a light background (matplotlib's ``gray_r``).

    Returns:
        uint8 (height, width, C) array.

    Raises:
        ValueError: if there are more images than cells or the array is not (N, H, W, C).
    """
    if images.ndim != 4:
        raise ValueError(f"expected images of shape (N, H, W, C), got {images.shape}")
    count, height, width, channels = images.shape
    if count > rows * cols:
        raise ValueError(f"{count} images do not fit a {rows}x{cols} grid")
    if invert:
        images = 255 - images
    if upscale > 1:
        images = images.repeat(upscale, axis=1).repeat(upscale, axis=2)
        height, width = height * upscale, width * upscale
    background = 255 if invert else 0
    grid = np.full((rows * height + (rows + 1) * padding, cols * width + (cols + 1) * padding, channels),
                   background, dtype=np.uint8)
    for index in range(count):
        row, col = divmod(index, cols)
        top = padding + row * (height + padding)
        left = padding + col * (width + padding)
        grid[top:top + height, left:left + width] = images[index]
    return grid


def save_png(path: str | Path, image: np.ndarray) -> Path:
    """Write a uint8 (H, W, C) or (H, W) image as PNG atomically (temporary file, then rename).

    Returns:
        The path written.
    """
    path = Path(path)
    array = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(array).save(tmp, format="PNG")
    return path


def rows_of_columns(columns: list[np.ndarray], *, upscale: int = 1, padding: int = 2) -> np.ndarray:
    """A grid whose row i shows ``columns[0][i], columns[1][i], ...`` (e.g. input | output | target).

    Grey columns are repeated to RGB when any column is in colour.

    Args:
        columns: uint8 (N, H, W, C) arrays of one N, H and W.
    """
    channels = max(c.shape[3] for c in columns)
    columns = [np.repeat(c, channels, axis=3) if c.shape[3] != channels else c for c in columns]
    count = len(columns[0])
    interleaved = np.stack(columns, axis=1).reshape(count * len(columns), *columns[0].shape[1:])
    return make_grid(interleaved, count, len(columns), padding=padding, upscale=upscale)
