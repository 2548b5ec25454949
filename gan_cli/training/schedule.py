"""The rules every training loop shares before and between its steps: seeding and device set-up, how long an
epoch and the whole run are, and which examples each step of an epoch sees.

An epoch is ``N // global batch`` steps, as the Keras tutorial counts it (N: the images, or for two domains the
larger of them, CycleGAN's definition; a GAN's global batch is ``batch_size x d_steps x replicas``). The
examples of an epoch are a pure function of ``(seed, epoch)``: ``numpy.random.default_rng([seed, epoch])``
draws them with replacement (``train.batch_selection: random``, the tutorial's ``np.random.randint``) or from
fresh permutations (``shuffle``). So a resumed run needs no random state to continue exactly.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from gan_cli.device import distribute, precision
from gan_cli.errors import DataError
from gan_cli.recipe.schema import Recipe


def set_up(recipe: Recipe) -> tf.distribute.Strategy | None:
    """Seed Keras with the recipe's seed, set its precision policy, and return its distribution strategy (None:
    one device). Call before building any model.

    Raises:
        RecipeError: ``train.distribute`` names a strategy this machine cannot run.
    """
    strategy = distribute.make_strategy(recipe.train.distribute)
    keras.utils.set_random_seed(recipe.seed)
    precision.apply(recipe.train.precision)
    return strategy


def steps_per_epoch(count: int, batch: int, what: str = "images") -> int:
    """``count // batch``: the steps of one epoch over ``count`` examples.

    Raises:
        DataError: fewer examples than one batch (``what`` names them in the message).
    """
    if count < batch:
        raise DataError(f"data: {what}, fewer than train.batch_size {batch}; lower train.batch_size or use more data")
    return count // batch


def total_steps(recipe: Recipe, per_epoch: int) -> tuple[int, int]:
    """``(planned, total)``: ``train.epochs x per_epoch``, and that capped by ``train.steps`` when it is set."""
    planned = recipe.train.epochs * per_epoch
    return planned, min(planned, recipe.train.steps) if recipe.train.steps else planned


def epoch_indices(rng: np.random.Generator, count: int, steps: int, batch: int, selection: str) -> np.ndarray:
    """Indices into ``count`` examples for ``steps`` batches of ``batch``, shape (steps, batch): drawn with
    replacement (``random``) or from fresh permutations, repeated as needed when an epoch needs more than
    ``count`` (``shuffle``; the smaller domain of an unpaired data set)."""
    if selection == "random":
        return rng.integers(0, count, size=(steps, batch))
    needed = steps * batch
    orders = [rng.permutation(count) for _ in range(math.ceil(needed / count))]
    return np.concatenate(orders)[:needed].reshape(steps, batch)


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator of one epoch's indices (a pure function of the seed and the epoch)."""
    return np.random.default_rng([seed, epoch])
