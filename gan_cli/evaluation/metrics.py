"""Sample-quality metrics on feature vectors, class probabilities and labels (NumPy/SciPy only).

Every function takes plain arrays, computes in float64 and returns Python floats (or dicts and
lists of them), so the numbers can go straight into a JSON report. Nothing here knows about Keras:
the features and probabilities come from an evaluator classifier elsewhere.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.distance import pdist
from sklearn.neighbors import NearestNeighbors

FloatArray = NDArray[np.float64]


class ClassAccuracy(TypedDict):
    """Result of :func:`per_class_accuracy`."""

    overall: float
    per_class: list[float | None]


#: Rows of the first set handled per block when pairwise distances are needed (block x other set).
_CHUNK_ROWS = 1024


def _as_matrix(values: ArrayLike, name: str, min_rows: int = 1) -> FloatArray:
    """``values`` as a float64 (N, D) matrix.

    Raises:
        ValueError: if it is not two-dimensional, has fewer than ``min_rows`` rows or holds
            non-finite numbers.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows, features), got shape {array.shape}")
    if array.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {array.shape[0]}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _same_width(a: FloatArray, b: FloatArray) -> None:
    """Raise ValueError unless two (N, D) matrices have the same D."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")


def _subsample(rows: FloatArray, max_points: int, rng: np.random.Generator) -> FloatArray:
    """At most ``max_points`` rows of ``rows``, drawn without replacement, in their original order."""
    if len(rows) <= max_points:
        return rows
    keep = np.sort(rng.choice(len(rows), size=max_points, replace=False))
    return rows[keep]


def feature_statistics(features: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Mean vector and covariance matrix of feature rows, the inputs of the Fréchet distance.

    Args:
        features: (N, D) array, one feature vector per row.

    Returns:
        ``(mean, covariance)`` with shapes (D,) and (D, D), float64; the covariance is the
        unbiased one (``np.cov`` with ``rowvar=False``).

    Raises:
        ValueError: if ``features`` is not (N, D) with N >= 2, or holds non-finite values.
    """
    rows = _as_matrix(features, "features", min_rows=2)
    return rows.mean(axis=0), np.atleast_2d(np.cov(rows, rowvar=False))


def frechet_distance_from_statistics(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """Fréchet distance between two Gaussians: ||mu1 - mu2||² + Tr(S1) + Tr(S2) - 2 Tr sqrt(S1 S2).

    The trace of the matrix square root is computed in its symmetric form,
    Tr sqrt(S1^½ S2 S1^½) = sum of the square roots of that PSD matrix's eigenvalues (``eigh``, with
    rounding-level negative eigenvalues clipped to 0). Unlike ``sqrtm(S1 @ S2)`` this stays real and
    finite for singular covariances, which small samples and dead ReLU features produce.

    Args:
        mu1: (D,) mean of the first Gaussian.
        sigma1: (D, D) covariance of the first Gaussian.
        mu2: (D,) mean of the second Gaussian.
        sigma2: (D, D) covariance of the second Gaussian.

    Returns:
        The distance, >= 0.

    Raises:
        ValueError: if the shapes disagree.
    """
    m1, m2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    dim = m1.shape[0]
    if m1.shape != (dim,) or m2.shape != (dim,) or s1.shape != (dim, dim) or s2.shape != (dim, dim):
        raise ValueError(f"inconsistent shapes: mu1 {m1.shape}, sigma1 {s1.shape}, mu2 {m2.shape}, sigma2 {s2.shape}")
    values, vectors = np.linalg.eigh((s1 + s1.T) / 2)
    root1 = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    middle = root1 @ s2 @ root1
    trace_root = float(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum())
    diff = m1 - m2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_root)
    return max(value, 0.0)


def frechet_distance(a: ArrayLike, b: ArrayLike) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature rows (FID on our features).

    Args:
        a: (N, D) features of one set (e.g. real images).
        b: (M, D) features of the other set (e.g. generated images).

    Returns:
        The distance, >= 0; 0 for identical sets.

    Raises:
        ValueError: if either set has fewer than 2 rows, or the feature sizes differ.
    """
    rows_a, rows_b = _as_matrix(a, "a", min_rows=2), _as_matrix(b, "b", min_rows=2)
    _same_width(rows_a, rows_b)
    mu1, sigma1 = feature_statistics(rows_a)
    mu2, sigma2 = feature_statistics(rows_b)
    return frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2)


def _polynomial_kernel(x: FloatArray, y: FloatArray) -> FloatArray:
    """The KID kernel k(x, y) = (x·y / d + 1)³ between all rows of ``x`` and ``y``."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(x: FloatArray, y: FloatArray) -> float:
    """Unbiased estimate of MMD² between two equally sized samples under the polynomial kernel."""
    m = x.shape[0]
    k_xx, k_yy, k_xy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def kernel_distance(
    real: ArrayLike, fake: ArrayLike, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Kernel distance (KID): unbiased MMD² with a cubic polynomial kernel, averaged over subsets.

    Each subset draws ``min(subset_size, len(real) // 2, len(fake) // 2)`` rows from each set without
    replacement, using ``numpy.random.default_rng(seed)``; at most half of each set, so that subsets
    differ and the standard deviation says something even for small sets.

    Args:
        real: (N, D) features of real images.
        fake: (M, D) features of generated images.
        subsets: number of random subsets.
        subset_size: rows per subset (capped by the set sizes).
        seed: seed of the subset draws.

    Returns:
        ``{"mean", "std", "subsets", "subset_size"}``: mean and standard deviation of the subset
        estimates, and the number and size of subsets actually used. The mean is near 0 (and may be
        slightly negative) when both sets come from one distribution.

    Raises:
        ValueError: if a set has fewer than 2 rows, the feature sizes differ, or ``subsets`` < 1.
    """
    x, y = _as_matrix(real, "real", min_rows=2), _as_matrix(fake, "fake", min_rows=2)
    _same_width(x, y)
    if subsets < 1 or subset_size < 2:
        raise ValueError(f"need subsets >= 1 and subset_size >= 2, got {subsets} and {subset_size}")
    size = max(2, min(subset_size, len(x) // 2, len(y) // 2))
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(subsets):
        real_rows = rng.choice(len(x), size=size, replace=False)
        fake_rows = rng.choice(len(y), size=size, replace=False)
        estimates.append(_unbiased_mmd2(x[real_rows], y[fake_rows]))
    values = np.asarray(estimates)
    return {"mean": float(values.mean()), "std": float(values.std()), "subsets": subsets, "subset_size": size}


def classifier_score(probabilities: ArrayLike, splits: int = 10) -> dict[str, float]:
    """Inception-Score analogue exp(E_x KL(p(y|x) || p(y))) under our evaluator classifier.

    The rows are cut into ``splits`` near-equal parts (``np.array_split``; fewer parts when there
    are fewer rows); in each, p(y) is the part's mean prediction. Probabilities are clipped at 1e-12
    and each row renormalised to sum to 1.

    Args:
        probabilities: (N, K) predicted class probabilities, one row per generated image.
        splits: number of parts the score is computed on.

    Returns:
        ``{"mean", "std"}`` over the parts. Each score lies in [1, K]: 1 when every image gets the
        same prediction, K when predictions are confident and spread evenly over the classes.

    Raises:
        ValueError: if ``probabilities`` is not (N, K) with N >= 1, has negative entries, or
            ``splits`` < 1.
    """
    rows = _as_matrix(probabilities, "probabilities")
    if (rows < 0).any():
        raise ValueError("probabilities must be non-negative")
    if splits < 1:
        raise ValueError(f"splits must be >= 1, got {splits}")
    rows = np.clip(rows, 1e-12, None)
    rows /= rows.sum(axis=1, keepdims=True)
    scores = []
    for part in np.array_split(rows, min(splits, len(rows))):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part) - np.log(marginal))).sum(axis=1)
        scores.append(float(np.exp(kl.mean())))
    values = np.asarray(scores)
    return {"mean": float(values.mean()), "std": float(values.std())}


def label_histogram(labels: ArrayLike, num_classes: int) -> FloatArray:
    """Share of each class among integer labels.

    Args:
        labels: (N,) integer class labels in ``[0, num_classes)``.
        num_classes: number of classes K.

    Returns:
        (K,) float64 shares summing to 1.

    Raises:
        ValueError: if ``labels`` is empty, not integral, or out of range.
    """
    values = np.asarray(labels).reshape(-1)
    if values.size == 0:
        raise ValueError("labels is empty")
    if not np.issubdtype(values.dtype, np.integer):
        if not np.array_equal(values, np.round(values)):
            raise ValueError("labels must be integers")
        values = values.astype(np.int64)
    if values.min() < 0 or values.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes}), got [{values.min()}, {values.max()}]")
    counts = np.bincount(values, minlength=num_classes).astype(np.float64)
    return counts / counts.sum()


def histogram_kl(p: ArrayLike, q: ArrayLike, eps: float = 1e-6) -> float:
    """KL(p || q) between two class histograms, after adding ``eps`` to every bin and renormalising.

    Args:
        p: (K,) shares of the first histogram (e.g. generated labels).
        q: (K,) shares of the reference histogram (e.g. real labels).
        eps: smoothing added to every bin so empty bins stay finite.

    Returns:
        The divergence, >= 0; 0 when ``p`` equals ``q``.

    Raises:
        ValueError: if the histograms differ in length or hold negative values.
    """
    a, b = np.asarray(p, np.float64).reshape(-1), np.asarray(q, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"histograms differ in length: {a.size} vs {b.size}")
    if (a < 0).any() or (b < 0).any():
        raise ValueError("histograms must be non-negative")
    a, b = a + eps, b + eps
    a, b = a / a.sum(), b / b.sum()
    return max(float((a * np.log(a / b)).sum()), 0.0)


def classes_covered(fake_shares: ArrayLike, real_shares: ArrayLike, fraction: float = 0.25) -> int:
    """Number of classes the generator produces at least ``fraction`` times as often as the data.

    Args:
        fake_shares: (K,) class shares among generated images.
        real_shares: (K,) class shares among real images; classes with share 0 are not counted.
        fraction: how much of the real share a class needs to count as covered.

    Returns:
        The count, between 0 and the number of classes present in the real data.

    Raises:
        ValueError: if the two histograms differ in length.
    """
    fake, real = np.asarray(fake_shares, np.float64).reshape(-1), np.asarray(real_shares, np.float64).reshape(-1)
    if fake.shape != real.shape:
        raise ValueError(f"histograms differ in length: {fake.size} vs {real.size}")
    return int(((real > 0) & (fake >= fraction * real)).sum())


def _kth_neighbour_radii(rows: FloatArray, k: int) -> FloatArray:
    """Distance from every row to its k-th nearest neighbour in the same set, itself excluded."""
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(rows).kneighbors(rows)
    # The row itself is among the k + 1 results (distance 0) even when there are duplicates.
    return distances[:, -1]


def precision_recall_density_coverage(
    real: ArrayLike, fake: ArrayLike, k: int = 5, normalize: bool = True, max_points: int = 5000, seed: int = 0
) -> dict[str, float]:
    """k-nearest-neighbour precision, recall, density and coverage (Naeem et al. 2020).

    Each point gets a ball reaching its k-th nearest neighbour in its own set. Precision is the
    fraction of fake points inside at least one real ball and recall the fraction of real points
    inside at least one fake ball (Kynkäänniemi et al. 2019); density counts, per fake point, the
    real balls containing it, divided by k and averaged; coverage is the fraction of real balls
    containing at least one fake point. Balls are closed, so a set against itself scores 1, 1,
    (k + 1) / k, 1 when no distances tie. A relative slack of about 1e-10 of the squared norms
    absorbs rounding, so a point on a ball's boundary counts as inside.

    Args:
        real: (N, D) features of real images.
        fake: (M, D) features of generated images.
        k: neighbour defining the ball radii.
        normalize: L2-normalise every row first.
        max_points: each set is subsampled (seeded, without replacement) to at most this many rows.
        seed: seed of the subsampling.

    Returns:
        ``{"precision", "recall", "density", "coverage", "k"}``.

    Raises:
        ValueError: if a set has no more than ``k`` rows (after subsampling), ``k`` < 1, or the
            feature sizes differ.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    x, y = _as_matrix(real, "real"), _as_matrix(fake, "fake")
    _same_width(x, y)
    rng = np.random.default_rng(seed)
    x, y = _subsample(x, max_points, rng), _subsample(y, max_points, rng)
    if len(x) <= k or len(y) <= k:
        raise ValueError(f"need more than k={k} rows in each set, got {len(x)} real and {len(y)} fake")
    if normalize:
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        y = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
    # Distances do not change under translation; centring keeps the norms, and so rounding, small.
    centre = x.mean(axis=0)
    x, y = x - centre, y - centre

    real_radii2 = _kth_neighbour_radii(x, k) ** 2
    fake_radii2 = _kth_neighbour_radii(y, k) ** 2
    x_norms2, y_norms2 = (x * x).sum(axis=1), (y * y).sum(axis=1)

    fake_in_real_ball = np.zeros(len(y), dtype=bool)
    real_balls_per_fake = np.zeros(len(y), dtype=np.int64)
    real_in_fake_ball = np.zeros(len(x), dtype=bool)
    real_ball_hit = np.zeros(len(x), dtype=bool)
    for start in range(0, len(x), _CHUNK_ROWS):
        rows = slice(start, start + _CHUNK_ROWS)
        sum_norms2 = x_norms2[rows, None] + y_norms2[None, :]
        dist2 = np.maximum(sum_norms2 - 2.0 * (x[rows] @ y.T), 0.0)  # (chunk of real, fake)
        slack = 1e-10 * sum_norms2
        in_real_ball = dist2 <= real_radii2[rows, None] + slack
        fake_in_real_ball |= in_real_ball.any(axis=0)
        real_balls_per_fake += in_real_ball.sum(axis=0)
        real_ball_hit[rows] = in_real_ball.any(axis=1)
        real_in_fake_ball[rows] = (dist2 <= fake_radii2[None, :] + slack).any(axis=1)

    return {
        "precision": float(fake_in_real_ball.mean()),
        "recall": float(real_in_fake_ball.mean()),
        "density": float(real_balls_per_fake.mean() / k),
        "coverage": float(real_ball_hit.mean()),
        "k": k,
    }


def diversity(samples: ArrayLike, max_points: int = 200, seed: int = 0) -> float:
    """Mean pairwise Euclidean distance between samples, a cheap mode-collapse signal.

    Args:
        samples: (N, ...) array; each sample (e.g. an image) is flattened to one row.
        max_points: the samples are subsampled (seeded, without replacement) to at most this many.
        seed: seed of the subsampling.

    Returns:
        The mean distance over all pairs; 0 when all samples are identical.

    Raises:
        ValueError: if there are fewer than 2 samples.
    """
    array = np.asarray(samples, dtype=np.float64)
    if array.ndim < 1 or array.shape[0] < 2:
        raise ValueError(f"diversity needs at least 2 samples, got shape {array.shape}")
    rows = _subsample(array.reshape(array.shape[0], -1), max(max_points, 2), np.random.default_rng(seed))
    return float(pdist(rows, metric="euclidean").mean())


def per_class_accuracy(predicted: ArrayLike, requested: ArrayLike, num_classes: int) -> ClassAccuracy:
    """How often the evaluator's predicted label matches the label a conditional generator was asked for.

    Args:
        predicted: (N,) labels predicted by the evaluator classifier.
        requested: (N,) labels the images were generated for, in ``[0, num_classes)``.
        num_classes: number of classes K.

    Returns:
        ``{"overall": float, "per_class": list}``: the overall accuracy and, for each class, the
        accuracy on images requested as that class (None for classes never requested).

    Raises:
        ValueError: if the arrays are empty, differ in length, or ``requested`` is out of range.
    """
    pred, want = np.asarray(predicted).reshape(-1), np.asarray(requested).reshape(-1)
    if pred.shape != want.shape or pred.size == 0:
        raise ValueError(f"predicted and requested must be non-empty and equally long, got {pred.size} and {want.size}")
    if want.min() < 0 or want.max() >= num_classes:
        raise ValueError(f"requested labels must lie in [0, {num_classes})")
    correct = pred == want
    per_class: list[float | None] = [
        float(correct[want == label].mean()) if (want == label).any() else None for label in range(num_classes)
    ]
    return {"overall": float(correct.mean()), "per_class": per_class}
