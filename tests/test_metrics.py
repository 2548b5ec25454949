"""Sample-quality metrics: the identities and closed forms they must reproduce."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from scipy.spatial.distance import cdist

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


def _closed_form_fd(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """Fréchet distance |mu1 - mu2|² + Tr(S1 + S2 - 2 sqrtm(S1 S2)) with SciPy's general matrix square root.

    Independent of the implementation's symmetric eigendecomposition; meant for well-conditioned covariances.
    """
    cross = scipy.linalg.sqrtm(s1 @ s2)
    assert np.abs(np.imag(cross)).max() < 1e-8 * np.abs(cross).max()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(np.real(cross)))


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


def test_frechet_distance_non_diagonal_matches_scipy_sqrtm() -> None:
    rng = np.random.default_rng(2)
    for dim in (2, 6, 12):
        mu1, mu2 = rng.standard_normal(dim), rng.standard_normal(dim)
        s1, s2 = _random_covariance(rng, dim), _random_covariance(rng, dim)
        assert np.linalg.cond(s1) < 1e3 and np.linalg.cond(s2) < 1e3
        expected = _closed_form_fd(mu1, s1, mu2, s2)
        assert frechet_distance_from_statistics(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
        # the trace term alone (equal means), so a wrong cross term cannot hide behind |mu1 - mu2|²
        assert frechet_distance_from_statistics(mu1, s1, mu1, s2) == pytest.approx(
            _closed_form_fd(mu1, s1, mu1, s2), rel=1e-8)


def test_frechet_distance_closed_forms_for_non_diagonal_covariances() -> None:
    rng = np.random.default_rng(21)
    dim = 5
    s1 = _random_covariance(rng, dim)
    mu1, mu2 = rng.standard_normal(dim), rng.standard_normal(dim)
    mean_term = float(((mu1 - mu2) ** 2).sum())
    # S2 = c² S1: sqrt(S1 S2) = c S1, so the trace term is (1 - c)² Tr(S1)
    for c in (0.5, 1.0, 3.0):
        expected = mean_term + (1.0 - c) ** 2 * np.trace(s1)
        assert frechet_distance_from_statistics(mu1, s1, mu2, c**2 * s1) == pytest.approx(expected, rel=1e-9)
    # commuting covariances (one rotation, different spectra): the trace term is sum (sqrt a - sqrt b)²
    rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    a, b = np.array([0.1, 0.5, 1.0, 2.0, 9.0]), np.array([4.0, 0.5, 0.25, 3.0, 1.0])
    s_a, s_b = (rotation * a) @ rotation.T, (rotation * b) @ rotation.T
    expected = mean_term + float(((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert frechet_distance_from_statistics(mu1, s_a, mu2, s_b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_feature_sets_uses_unbiased_covariances() -> None:
    # b = c a + t exactly: mean_b = c mean_a + t and cov_b = c² cov_a, so
    # FD = |(c - 1) mean_a + t|² + (1 - c)² Tr(cov_a), with cov_a the ddof=1 covariance (np.cov's default).
    rng = np.random.default_rng(22)
    a = rng.standard_normal((8, 3)) @ rng.standard_normal((3, 3))  # few rows: ddof 0 vs 1 differ by 8/7
    c, t = 2.5, np.array([1.0, -2.0, 0.5])
    b = c * a + t
    mean_term = float((((c - 1.0) * a.mean(axis=0) + t) ** 2).sum())
    unbiased = mean_term + (1.0 - c) ** 2 * np.trace(np.cov(a, rowvar=False, ddof=1))
    biased = mean_term + (1.0 - c) ** 2 * np.trace(np.cov(a, rowvar=False, ddof=0))
    assert abs(unbiased - biased) > 0.05 * unbiased
    assert frechet_distance(a, b) == pytest.approx(unbiased, rel=1e-9)
    assert frechet_distance(b, a) == pytest.approx(unbiased, rel=1e-9)
    # and on unrelated sets, the same as the Gaussian formula on np.cov's statistics
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((20, 4)) * 2.0 + 1.0
    expected = _closed_form_fd(x.mean(axis=0), np.cov(x, rowvar=False), y.mean(axis=0), np.cov(y, rowvar=False))
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-8)


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


def _cubic_kernel(u: np.ndarray, v: np.ndarray) -> float:
    return float((np.dot(u, v) / len(u) + 1.0) ** 3)


def _mmd2_by_pairs(x: np.ndarray, y: np.ndarray, unbiased: bool = True) -> float:
    """MMD² under the KID kernel, pair by pair: unbiased leaves out i == j in the within-set means."""
    def within(rows: np.ndarray) -> float:
        pairs = [(i, j) for i in range(len(rows)) for j in range(len(rows)) if i != j or not unbiased]
        return sum(_cubic_kernel(rows[i], rows[j]) for i, j in pairs) / len(pairs)
    cross = sum(_cubic_kernel(u, v) for u in x for v in y) / (len(x) * len(y))
    return within(x) + within(y) - 2.0 * cross


def test_kid_mean_over_subsets_estimates_the_full_sets_unbiased_mmd2() -> None:
    # Averaged over random subsets, the unbiased subset estimate has the full sets' U-statistic as its
    # expectation, whatever the subset size; the biased one is off by (mean k(x,x) - mean k(x,x')) / m per set.
    rng = np.random.default_rng(30)
    real, fake = _gaussian(rng, 12, 3), _gaussian(rng, 14, 3, shift=0.5)
    result = kernel_distance(real, fake, subsets=3000, subset_size=6, seed=3)
    assert result["subset_size"] == 6
    standard_error = result["std"] / np.sqrt(result["subsets"])
    expected = _mmd2_by_pairs(real, fake)
    assert abs(result["mean"] - expected) < 4 * standard_error
    bias = 0.0
    for rows in (real, fake):
        diagonal = float(np.mean([_cubic_kernel(row, row) for row in rows]))
        off_diagonal = float(np.mean([_cubic_kernel(rows[i], rows[j])
                                      for i in range(len(rows)) for j in range(len(rows)) if i != j]))
        bias += (diagonal - off_diagonal) / result["subset_size"]
    assert bias > 40 * standard_error  # so the biased estimator would fail the check above


def test_kid_is_unbiased_so_it_is_near_zero_and_can_be_negative_for_one_distribution() -> None:
    rng = np.random.default_rng(31)
    real, fake = _gaussian(rng, 40, 4), _gaussian(rng, 40, 4)
    # one subset: the unbiased estimate is negative about half the time; the biased one (a squared norm) never
    singles = [kernel_distance(real, fake, subsets=1, subset_size=5, seed=seed)["mean"] for seed in range(20)]
    assert sum(value < 0 for value in singles) >= 4
    many = kernel_distance(real, fake, subsets=2000, subset_size=5)
    standard_error = many["std"] / np.sqrt(many["subsets"])
    assert abs(many["mean"] - _mmd2_by_pairs(real, fake)) < 4 * standard_error
    biased = np.mean([_mmd2_by_pairs(real[rows], fake[rows], unbiased=False)
                      for rows in (rng.choice(40, size=5, replace=False) for _ in range(200))])
    assert biased > 1.0 and biased > 50 * abs(many["mean"])


def test_kid_of_tiny_sets_matches_the_pairwise_definition_exactly() -> None:
    # With 4 rows per set the subsets hold 2 rows; over all ways to draw them the estimates take few values.
    rng = np.random.default_rng(32)
    real, fake = _gaussian(rng, 4, 3), _gaussian(rng, 4, 3, shift=1.0)
    possible = {round(_mmd2_by_pairs(real[[i, j]], fake[[p, q]]), 9)
                for i in range(4) for j in range(i + 1, 4) for p in range(4) for q in range(p + 1, 4)}
    for seed in range(10):
        value = kernel_distance(real, fake, subsets=1, seed=seed)["mean"]
        assert round(value, 9) in possible


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


def _prdc_by_brute_force(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """Precision, recall, density, coverage from full distance matrices (Naeem et al. 2020, closed balls)."""
    real_radii = np.sort(cdist(real, real), axis=1)[:, k]  # column 0 is the point itself
    fake_radii = np.sort(cdist(fake, fake), axis=1)[:, k]
    distances = cdist(real, fake)
    fake_in_real_ball = distances <= real_radii[:, None]  # [i, j]: fake j inside real i's ball
    real_in_fake_ball = distances <= fake_radii[None, :]  # [i, j]: real i inside fake j's ball
    return {"precision": float(fake_in_real_ball.any(axis=0).mean()),
            "recall": float(real_in_fake_ball.any(axis=1).mean()),
            "density": float(fake_in_real_ball.sum(axis=0).mean() / k),
            "coverage": float(fake_in_real_ball.any(axis=1).mean())}


def test_prdc_of_a_fake_set_on_one_of_four_real_modes() -> None:
    # Mode collapse: every fake point is realistic (high precision) but only a quarter of the real data is
    # reproduced (low recall and coverage). Swapping precision and recall, or the real and fake sets, fails.
    rng = np.random.default_rng(14)
    centres = 8.0 * np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0]])
    real = np.concatenate([centre + rng.standard_normal((60, 3)) for centre in centres])
    fake = centres[0] + rng.standard_normal((90, 3))
    for normalize in (False, True):
        result = precision_recall_density_coverage(real, fake, k=5, normalize=normalize)
        assert result["precision"] > 0.85
        assert result["recall"] < 0.3 and result["coverage"] < 0.3
        assert result["density"] > 0.7
        unit_real = real / np.linalg.norm(real, axis=1, keepdims=True)
        unit_fake = fake / np.linalg.norm(fake, axis=1, keepdims=True)
        expected = _prdc_by_brute_force(unit_real, unit_fake, 5) if normalize else _prdc_by_brute_force(real, fake, 5)
        for key, value in expected.items():
            assert result[key] == pytest.approx(value, abs=1e-12), (normalize, key)


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


def test_intra_fd_sees_a_label_ignored_that_fd_cannot() -> None:
    from gan_cli.evaluation.measure import intra_frechet_distance

    rng = np.random.default_rng(0)
    centres = np.array([[-3.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    real_labels = np.repeat([0, 1], 200)
    real = centres[real_labels] + rng.standard_normal((400, 3))
    requested = np.repeat([0, 1], 200)
    faithful = centres[requested] + rng.standard_normal((400, 3))
    ignoring = centres[rng.permutation(requested)] + rng.standard_normal((400, 3))  # right mixture, wrong labels
    assert frechet_distance(real, ignoring) < 0.5  # FD sees the same mixture either way
    good = intra_frechet_distance(real, real_labels, faithful, requested)
    bad = intra_frechet_distance(real, real_labels, ignoring, requested)
    assert good["mean"] < 0.5 < 5 < bad["mean"]
    assert set(good["per_class"]) == {0, 1}
    assert bad["mean"] == pytest.approx(np.mean(list(bad["per_class"].values())), abs=1e-4)
