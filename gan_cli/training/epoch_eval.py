"""Measuring a generator at epoch ends (``eval.every``): the same Fréchet distance ``gan eval`` computes, on a
fixed set of ``eval.n`` real images, with the data set's evaluator loaded or built at its first use (not at all
when a run never evaluates).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from gan_cli.evaluation.evaluator import Evaluator, load_or_build_evaluator
from gan_cli.evaluation.measure import measure, real_images
from gan_cli.recipe.schema import DataSpec


class EpochEvaluation:
    """FD (and, for labelled data, label KL and classes covered) of fakes against ``n`` real images of ``split``
    of the data ``target`` describes, drawn with ``seed``."""

    def __init__(self, target: DataSpec, split: str, n: int, seed: int, echo: Callable[[str], None],
                 progress: bool | None) -> None:
        self.target, self.split, self.n, self.seed = target, split, n, seed
        self.echo, self.progress = echo, progress
        self.evaluator: Evaluator | None = None
        self.real: np.ndarray | None = None

    @property
    def evaluator_id(self) -> str | None:
        """The id of the evaluator the measurements so far used (None before the first)."""
        return self.evaluator.id if self.evaluator is not None else None

    def measure(self, fakes: np.ndarray) -> dict[str, Any]:
        """``gan eval``'s quick measurement (``full=False``) of float fakes in [-1, 1], (N, H, W, C).

        Raises:
            DataError: the data set cannot be loaded to build its evaluator.
        """
        if self.evaluator is None or self.real is None:
            self.evaluator = load_or_build_evaluator(dataclasses.replace(self.target, limit=None), echo=self.echo,
                                                     progress=self.progress)
            self.real = real_images(self.target, self.split, self.n, self.seed)
        return measure(fakes, self.real, self.evaluator, seed=self.seed, full=False)
