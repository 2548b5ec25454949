"""What a training loop may call on a family's models: the contracts every family builder's result keeps.

``FAMILIES`` builders return a :class:`GanFamily` (gan, cgan, infogan: trained from real batches and latents);
``TRANSLATORS`` builders return a :class:`TranslationFamily` (pix2pix, CycleGAN: trained from A and B batches).
Both are a :class:`Family`: a generator to export, optimizers whose learning rates the loop sets, and the
variables a checkpoint must hold for an exact resume.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import keras
import tensorflow as tf

from gan_cli.families.losses import Adversarial
from gan_cli.recipe.schema import InfoSpec, Recipe

#: (height, width, channels) of one image.
Shape = tuple[int, int, int]


class Family(Protocol):
    """Models ready to train, as every family builds them."""

    @property
    def generator(self) -> keras.Model:
        """The generator the run exports as ``generator.keras`` (a translator: A to B)."""
        ...

    def optimizers(self) -> dict[str, list[keras.optimizers.Optimizer]]:
        """The optimizers by the recipe's ``optimizers`` key (``generator``, ``discriminator``) whose learning
        rate they take."""
        ...

    def checkpoint_state(self) -> dict[str, list[Any]]:
        """Every variable an exact resume needs (weights, statistics, optimizer slots, random states), by group."""
        ...


class GanFamily(Family, Protocol):
    """A GAN trained the tutorial's way: D's compiled update, then G's through ``combined`` with D frozen."""

    discriminator: keras.Model
    combined: keras.Model
    objective: Adversarial
    num_classes: int | None
    info: InfoSpec | None
    strategy: tf.distribute.Strategy | None
    jit_compile: bool
    #: G's moving average (``train.ema``), None without it
    ema_generator: keras.Model | None

    @property
    def latent_dim(self) -> int: ...

    @property
    def real_target(self) -> float:
        """The D score the objective calls real (the health monitor reads D's scores against it)."""
        ...

    @property
    def penalized(self) -> bool:
        """True when D's update takes the gradient penalty's interpolation seeds."""
        ...

    @property
    def conditional(self) -> bool:
        """True when G and D take a one-hot class label (cgan)."""
        ...

    @property
    def sampler(self) -> keras.Model:
        """The generator samples are drawn from: G's moving average with ``train.ema``, else G."""
        ...

    def train_steps(self, steps: Sequence[tuple[Any, ...]]) -> list[dict[str, float]]:
        """Train consecutive steps, each given as ``(reals, noises, noise_g, penalty_seeds, labels)``; returns
        each step's ``d_loss``, ``g_loss``, ``d_real``, ``d_fake`` (and any extra loss terms)."""
        ...


class TranslationFamily(Family, Protocol):
    """An image-to-image family: generators by direction and the critics that judge them."""

    @property
    def generators(self) -> dict[str, keras.Model]:
        """``{"a2b": G}``, and CycleGAN's ``"b2a": F``."""
        ...

    @property
    def discriminators(self) -> list[keras.Model]: ...

    def train_step(self, a: tf.Tensor, b: tf.Tensor, seed: tf.Tensor) -> dict[str, float]:
        """Train one step on batches of A and B images in [-1, 1]; ``seed`` is the step's stateless seed."""
        ...


#: ``FAMILIES[name](recipe, image_shape, num_classes)``.
GanBuilder = Callable[[Recipe, Shape, "int | None"], GanFamily]
#: ``TRANSLATORS[name](recipe, shape_a, shape_b, planned_steps)``; the steps set the learning-rate decay.
TranslatorBuilder = Callable[[Recipe, Shape, Shape, int], TranslationFamily]
