"""The recipe's image preparation: resize, channel conversion and scaling to [-1, 1] (NumPy and Pillow)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_image(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """One Pillow image resized to ``size`` = (height, width).

    Shrinking uses LANCZOS (it filters out aliasing); enlarging uses bilinear interpolation.

    Args:
        image: a Pillow image in any mode Pillow can resample ("L" and "RGB" here).
        size: the target (height, width).

    Returns:
        The resized image, or ``image`` itself when it already has that size.
    """
    height, width = size
    if image.size == (width, height):
        return image
    shrinks = width < image.width or height < image.height
    resample = Image.Resampling.LANCZOS if shrinks else Image.Resampling.BILINEAR
    return image.resize((width, height), resample=resample)


def resize_images(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A uint8 (N, H, W, C) batch resized to ``size`` = (height, width), image by image with Pillow.

    Args:
        images: uint8 (N, H, W, C), C 1 or 3.
        size: the target (height, width).

    Returns:
        uint8 (N, height, width, C); ``images`` itself when the size already matches.
    """
    if images.shape[1:3] == tuple(size):
        return images
    channels = images.shape[3]
    out = np.empty((len(images), size[0], size[1], channels), dtype=np.uint8)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if channels == 1 else image)
        resized = np.asarray(resize_image(pil, size))
        out[i] = resized[..., np.newaxis] if channels == 1 else resized
    return out


def convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """A uint8 (N, H, W, C) batch converted to ``channels`` channels.

    Grey to RGB repeats the channel; RGB to grey uses Pillow's "L" conversion
    (L = R * 299/1000 + G * 587/1000 + B * 114/1000, in Pillow's fixed-point arithmetic, so the result is
    identical to ``Image.convert("L")``).

    Args:
        images: uint8 (N, H, W, 1 or 3).
        channels: 1 or 3.

    Returns:
        uint8 (N, H, W, channels); ``images`` itself when it already has that many.

    Raises:
        ValueError: ``channels`` is not 1 or 3.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if images.shape[3] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=3)
    rgb = images.astype(np.uint32)
    grey = (rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16
    return grey.astype(np.uint8)[..., np.newaxis]


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 images scaled to float32 in [-1, 1] as ``(x - 127.5) / 127.5`` (the tutorial's scaling).

    Args:
        images: uint8 array of any shape.

    Returns:
        A new float32 array of the same shape.
    """
    out = images.astype(np.float32)
    out -= 127.5
    out /= 127.5
    return out


def center_crop(images: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """The central ``size`` = (height, width) window of an (N, H, W, C) batch; ``images`` when None or equal.

    Raises:
        ValueError: the window is larger than the images.
    """
    if size is None or tuple(images.shape[1:3]) == tuple(size):
        return images
    height, width = images.shape[1:3]
    if size[0] > height or size[1] > width:
        raise ValueError(f"crop {size[0]}x{size[1]} is larger than the images ({height}x{width})")
    top, left = (height - size[0]) // 2, (width - size[1]) // 2
    return images[:, top:top + size[0], left:left + size[1]]
