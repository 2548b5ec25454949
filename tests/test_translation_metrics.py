"""L1, PSNR and SSIM of translations against their ground truth: known values and independent computations."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from gan_cli.evaluation.translation import pixel_metrics

#: PSNR reported for identical images: the MSE is floored at 1e-10, i.e. 10 log10(1 / 1e-10) dB.
PSNR_CAP = 100.0


def _random_images(seed: int, shape: tuple[int, ...], high: int = 256) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, size=shape).astype(np.uint8)


def _ssim_numpy(x: np.ndarray, y: np.ndarray, window: int, sigma: float = 1.5, max_val: float = 1.0) -> float:
    """Mean SSIM (Wang et al. 2004) over images and channels: Gaussian window, valid positions only."""
    coords = np.arange(window) - (window - 1) / 2.0
    g = np.exp(-(coords**2) / (2.0 * sigma**2))
    weights = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2

    def local_mean(values: np.ndarray) -> np.ndarray:  # (N, H, W, C) -> (N, H-w+1, W-w+1, C)
        patches = np.lib.stride_tricks.sliding_window_view(values, (window, window), axis=(1, 2))
        return np.einsum("nhwcuv,uv->nhwc", patches, weights)

    x, y = x.astype(np.float64), y.astype(np.float64)
    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x, var_y = local_mean(x * x) - mu_x**2, local_mean(y * y) - mu_y**2
    cov = local_mean(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())


def test_identical_images() -> None:
    images = _random_images(0, (3, 12, 12, 3))
    result = pixel_metrics(images, images.copy())
    assert result["l1"] == 0.0
    assert result["psnr"] == pytest.approx(PSNR_CAP)  # tf.image.psnr would say inf
    assert result["ssim"] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("offset", [1, 17, -40])
def test_constant_offset_gives_known_l1_and_psnr(offset: int) -> None:
    truths = _random_images(1, (4, 10, 10, 1), high=150) + 50  # in [50, 200): no offset leaves [0, 255]
    outputs = (truths.astype(np.int16) + offset).astype(np.uint8)
    result = pixel_metrics(outputs, truths)
    assert result["l1"] == pytest.approx(abs(offset) / 255, rel=1e-6)
    mse = (offset / 255) ** 2
    expected = 20 * np.log10(1.0) - 10 * np.log10(mse)  # MAX = 1 in [0, 1] pixel units
    assert result["psnr"] == pytest.approx(expected, rel=1e-5)
    tf_psnr = tf.image.psnr(tf.constant(outputs), tf.constant(truths), max_val=255).numpy()
    assert result["psnr"] == pytest.approx(float(np.mean(tf_psnr)), rel=1e-5)


def test_psnr_is_the_mean_of_per_image_values() -> None:
    truths = np.full((2, 8, 8, 1), 100, np.uint8)
    outputs = truths + np.array([2, 60], np.uint8)[:, None, None, None]
    per_image = [-20 * np.log10(2 / 255), -20 * np.log10(60 / 255)]
    pooled = -10 * np.log10(np.mean([(2 / 255) ** 2, (60 / 255) ** 2]))
    result = pixel_metrics(outputs, truths)
    assert result["psnr"] == pytest.approx(np.mean(per_image), rel=1e-5)
    assert abs(np.mean(per_image) - pooled) > 5.0  # so the PSNR of the pooled MSE would fail
    assert result["l1"] == pytest.approx(31 / 255, rel=1e-6)


@pytest.mark.parametrize("shape, window", [((3, 16, 16, 3), 11), ((2, 8, 8, 1), 8), ((2, 6, 20, 1), 6)])
def test_ssim_matches_tf_and_an_independent_computation(shape: tuple[int, ...], window: int) -> None:
    truths = _random_images(2, shape)
    noise = np.random.default_rng(3).integers(-60, 61, size=shape)
    outputs = np.clip(truths.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    result = pixel_metrics(outputs, truths)
    x, y = outputs.astype(np.float32) / 255, truths.astype(np.float32) / 255
    # what the module documents: tf.image.ssim, Gaussian sigma 1.5, window 11 or the image size if smaller
    reference = tf.image.ssim(tf.constant(x), tf.constant(y), max_val=1.0, filter_size=window, filter_sigma=1.5,
                              k1=0.01, k2=0.03).numpy()
    assert result["ssim"] == pytest.approx(float(np.mean(reference)), abs=1e-6)
    assert result["ssim"] == pytest.approx(_ssim_numpy(x, y, window), abs=1e-5)
    assert 0.1 < result["ssim"] < 0.95  # neither trivially 0 nor 1 (max_val=255 on [0, 1] pixels gives ~1)
