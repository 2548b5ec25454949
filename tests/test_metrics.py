"""Sample-quality metrics: the identities and closed forms they must reproduce."""

from __future__ import annotations

import numpy as np
import pytest

from gan_cli.evaluation.metrics import (
    classes_covered,
    classifier_score,
    diversity,
    feature_statistics,
    frechet_distance,
    frechet_distance_from_statistics,
    histogram_kl,
    kernel_distance,
    label_histogram,
    per_class_accuracy,
    precision_recall_density_coverage,
)


def _gaussian(rng: np.random.Generator, n: int, dim: int, shift: float = 0.0) -> np.ndarray:
    return rng.standard_normal((n, dim)) + shift


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def _closed_form_fd(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """Fréchet distance via the symmetric form Tr(S1 + S2 - 2 (S1^½ S2 S1^½)^½)."""
    root1 = _symmetric_sqrt(s1)
    cross = _symmetric_sqrt(root1 @ s2 @ root1)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(cross))


def _random_covariance(rng: np.random.Generator, dim: int) -> np.ndarray:
    factor = rng.standard_normal((dim, dim))
    return factor @ factor.T / dim + 0.1 * np.eye(dim)


def test_feature_statistics_match_numpy() -> None:
    rows = np.random.default_rng(0).standard_normal((50, 3))
    mean, cov = feature_statistics(rows)
    np.testing.assert_allclose(mean, rows.mean(axis=0))
    np.testing.assert_allclose(cov, np.cov(rows, rowvar=False))
    assert feature_statistics(rows[:, :1])[1].shape == (1, 1)


def test_frechet_distance_of_a_set_with_itself_is_zero() -> None:
    rows = np.random.default_rng(1).standard_normal((500, 16)) * 3.0 + 1.0
    trace = np.trace(np.cov(rows, rowvar=False))
    assert frechet_distance(rows, rows) <= 1e-6 * trace


def test_frechet_distance_diagonal_closed_form() -> None:
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 0.25])
    expected = ((mu1 - mu2) ** 2).sum() + (s1 + s2 - 2.0 * np.sqrt(s1 * s2)).sum()
    got = frechet_distance_from_statistics(mu1, np.diag(s1), mu2, np.diag(s2))
    assert got == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_non_diagonal_closed_form() -> None:
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    s1, s2 = _random_covariance(rng, 6), _random_covariance(rng, 6)
    expected = _closed_form_fd(mu1, s1, mu2, s2)
    assert frechet_distance_from_statistics(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_on_samples_approaches_closed_form() -> None:
    rng = np.random.default_rng(3)
    mu1, mu2 = np.zeros(4), np.array([1.0, 0.0, -1.0, 0.5])
    s1, s2 = _random_covariance(rng, 4), _random_covariance(rng, 4)
    a = rng.multivariate_normal(mu1, s1, size=40_000)
    b = rng.multivariate_normal(mu2, s2, size=40_000)
    assert frechet_distance(a, b) == pytest.approx(_closed_form_fd(mu1, s1, mu2, s2), rel=0.05)


def test_frechet_distance_grows_with_mean_shift() -> None:
    rng = np.random.default_rng(4)
    base = _gaussian(rng, 2000, 8)
    distances = [frechet_distance(base, _gaussian(rng, 2000, 8, shift)) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert distances == sorted(distances)
    assert distances[-1] == pytest.approx(8 * 2.0**2, rel=0.1)


def test_frechet_distance_survives_singular_covariances() -> None:
    rng = np.random.default_rng(5)
    a, b = _gaussian(rng, 5, 20), _gaussian(rng, 5, 20)  # fewer rows than features: rank-deficient
    assert np.isfinite(frechet_distance(a, b)) and frechet_distance(a, b) > 0


def test_frechet_distance_is_finite_for_few_rows_of_dead_relu_features() -> None:
    rng = np.random.default_rng(0)
    def features(n: int) -> np.ndarray:
        values = np.maximum(rng.normal(size=(n, 128)), 0.0)
        values[:, :40] = 0.0  # units that never fire
        return values
    a, b = features(20), features(20)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert np.isfinite(frechet_distance(a, b)) and frechet_distance(a, b) > 0
    assert frechet_distance(a, b + 3.0) > frechet_distance(a, b)


def test_kid_subsets_differ_so_small_sets_get_a_real_std() -> None:
    rng = np.random.default_rng(1)
    result = kernel_distance(rng.normal(size=(400, 8)), rng.normal(size=(400, 8)), subsets=20)
    assert result["subset_size"] == 200 and result["std"] > 0


def test_frechet_distance_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="feature sizes differ"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="inconsistent shapes"):
        frechet_distance_from_statistics(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))


def test_kernel_distance_near_zero_for_one_distribution_and_positive_for_shifted() -> None:
    rng = np.random.default_rng(6)
    real = _gaussian(rng, 1000, 16)
    same = kernel_distance(real, _gaussian(rng, 1000, 16), subsets=20, subset_size=500)
    shifted = kernel_distance(real, _gaussian(rng, 1000, 16, shift=1.0), subsets=20, subset_size=500)
    assert abs(same["mean"]) < 0.05
    assert shifted["mean"] > 1.0 and shifted["mean"] > 20 * abs(same["mean"])
    assert same["subsets"] == 20 and same["subset_size"] == 500


def test_kernel_distance_caps_subset_size_and_is_seeded() -> None:
    rng = np.random.default_rng(7)
    real, fake = _gaussian(rng, 60, 4), _gaussian(rng, 80, 4)
    first = kernel_distance(real, fake, subsets=5, subset_size=1000, seed=1)
    assert first["subset_size"] == 30
    assert first == kernel_distance(real, fake, subsets=5, subset_size=1000, seed=1)


def test_classifier_score_bounds() -> None:
    k = 10
    identical = np.tile(np.random.default_rng(8).dirichlet(np.ones(k)), (200, 1))
    assert classifier_score(identical)["mean"] == pytest.approx(1.0, abs=1e-9)
    confident = np.tile(np.eye(k), (100, 1))  # every split holds each class equally often
    score = classifier_score(confident, splits=10)
    assert score["mean"] == pytest.approx(k, rel=1e-6) and score["std"] == pytest.approx(0.0, abs=1e-6)
    for alpha in (0.05, 1.0, 20.0):
        random = np.random.default_rng(9).dirichlet(np.full(k, alpha), size=300)
        assert 1.0 - 1e-9 <= classifier_score(random, splits=3)["mean"] <= k + 1e-9


def test_label_histogram_and_kl() -> None:
    hist = label_histogram([0, 1, 1, 3], num_classes=4)
    np.testing.assert_allclose(hist, [0.25, 0.5, 0.0, 0.25])
    assert histogram_kl(hist, hist) == pytest.approx(0.0, abs=1e-12)
    assert histogram_kl(hist, np.full(4, 0.25)) > 0.1
    with pytest.raises(ValueError, match="must lie in"):
        label_histogram([0, 4], num_classes=4)


def test_classes_covered_counts_classes_near_their_real_share() -> None:
    real = np.array([0.25, 0.25, 0.25, 0.25, 0.0])
    fake = np.array([0.5, 0.0625, 0.05, 0.3875, 0.0])
    assert classes_covered(fake, real, fraction=0.25) == 3  # 0.0625 is exactly a quarter of 0.25
    assert classes_covered(real, real) == 4  # a class absent from the data is never counted
    assert classes_covered(np.array([1.0, 0, 0, 0, 0]), real) == 1


def test_prdc_of_a_set_against_itself() -> None:
    rows = np.random.default_rng(10).standard_normal((300, 8))
    for normalize in (True, False):
        result = precision_recall_density_coverage(rows, rows, k=5, normalize=normalize)
        assert result["precision"] == 1.0 and result["recall"] == 1.0 and result["coverage"] == 1.0
        assert result["density"] == pytest.approx(6 / 5)
        assert result["k"] == 5


def test_prdc_of_a_far_shifted_set() -> None:
    rng = np.random.default_rng(11)
    real, fake = _gaussian(rng, 300, 8), _gaussian(rng, 300, 8, shift=10.0)
    result = precision_recall_density_coverage(real, fake, k=5, normalize=False)
    assert result["precision"] < 0.01 and result["coverage"] < 0.01 and result["density"] < 0.01


def test_prdc_chunks_and_subsamples() -> None:
    rng = np.random.default_rng(12)
    real, fake = _gaussian(rng, 2500, 4), _gaussian(rng, 2100, 4)  # more rows than one distance chunk
    result = precision_recall_density_coverage(real, fake, k=3, max_points=2000)
    assert 0.8 < result["precision"] <= 1.0 and 0.8 < result["recall"] <= 1.0
    assert 0.8 < result["coverage"] <= 1.0 and 0.7 < result["density"] < 1.3
    with pytest.raises(ValueError, match="more than k"):
        precision_recall_density_coverage(real[:3], fake, k=3)


def test_diversity() -> None:
    images = np.random.default_rng(13).random((50, 4, 4, 1))
    assert diversity(np.repeat(images[:1], 10, axis=0)) == 0.0
    assert diversity(images) > 0.5
    two = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert diversity(two) == pytest.approx(5.0)
    assert diversity(images, max_points=10, seed=1) == diversity(images, max_points=10, seed=1)


def test_per_class_accuracy() -> None:
    result = per_class_accuracy([0, 1, 1, 2, 0], [0, 1, 2, 2, 1], num_classes=4)
    assert result["overall"] == pytest.approx(3 / 5)
    assert result["per_class"] == [1.0, 0.5, 0.5, None]
