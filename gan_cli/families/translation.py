"""Pieces both image-to-image families share: a compiled PatchGAN discriminator and its update, patch
targets, and the learning-rate schedule of a translation recipe.

Each discriminator is compiled for its own update, exactly like the tutorial's D, and frozen
(``trainable = False``) while a combined model that contains it trains the generators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf

from gan_cli.families.losses import Adversarial, MeanScore, adversarial
from gan_cli.families.optimizers import make_optimizer
from gan_cli.nets import build_patch_discriminator
from gan_cli.nets.patchgan import PatchDiscriminator
from gan_cli.recipe.schema import Recipe


def loss_sum(result: dict[str, Any], suffix: str) -> float:
    """The sum of ``train_on_batch``'s values whose names end in ``suffix`` (a multi-output model names each
    output's loss after its output, e.g. every critic scale's ``..._score_loss``)."""
    return float(sum(float(v) for k, v in result.items() if k.endswith(suffix)))


def decay_window(recipe: Recipe, total_steps: int) -> tuple[int, int] | None:
    """``(start, total)`` updates of the linear learning-rate decay (``translation.decay_from``)."""
    if recipe.translation.decay_from >= 1.0 or total_steps <= 0:
        return None
    return int(round(recipe.translation.decay_from * total_steps)), total_steps


def patch_targets(outputs: list[Any], count: int, value: float) -> list[tf.Tensor]:
    """One target map per patch-score output, filled with ``value``, for ``count`` examples."""
    return [tf.fill((count, *[int(d) for d in out.shape[1:]]), value) for out in outputs]


@dataclass
class PatchCritic:
    """A PatchGAN discriminator compiled for its own update (real and fake examples in one batch)."""

    net: PatchDiscriminator
    optimizer: keras.optimizers.Optimizer
    objective: Adversarial

    @property
    def model(self) -> keras.Model:
        return self.net.scores

    def update(self, real: list[tf.Tensor], fake: list[tf.Tensor]) -> dict[str, float]:
        """One ``train_on_batch`` on the real inputs (targets: real) and the fake ones (targets: fake);
        returns the loss (summed over scales) and the mean patch scores of each half."""
        batch = int(real[0].shape[0])
        inputs = [tf.concat([r, f], axis=0) for r, f in zip(real, fake)]
        outputs = self.model.outputs
        reals = patch_targets(outputs, batch, self.objective.real_target)
        fakes = patch_targets(outputs, batch, self.objective.fake_target)
        targets = [tf.concat([r, f], axis=0) for r, f in zip(reals, fakes)]
        self.model.trainable = True
        result = self.model.train_on_batch(inputs if len(inputs) > 1 else inputs[0], targets, return_dict=True)
        real_scores = [v for k, v in result.items() if k.endswith("real_score")]
        fake_scores = [v for k, v in result.items() if k.endswith("fake_score")]
        return {"d_loss": float(result["loss"]), "d_real": float(sum(real_scores)) / len(real_scores),
                "d_fake": float(sum(fake_scores)) / len(fake_scores)}


def build_critic(recipe: Recipe, image_shape: tuple[int, int, int],
                 condition_shape: tuple[int, int, int] | None, decay: tuple[int, int] | None,
                 name: str = "discriminator") -> PatchCritic:
    """Build and compile one (multi-scale) PatchGAN: the objective's loss on each scale's patch map, summed
    (pix2pixHD), with D(x) and D(G(x)) metrics per scale."""
    objective = adversarial(recipe.loss, recipe.discriminator.output_activation)
    net = build_patch_discriminator(recipe.discriminator, image_shape, condition_shape, name)
    logits = objective.probabilities and recipe.discriminator.output_activation == "linear"
    scales = len(net.scores.outputs)
    metrics = [[MeanScore(True, objective.real_target, logits), MeanScore(False, objective.real_target, logits)]
               for _ in range(scales)]
    optimizer = make_optimizer(recipe.optimizers.discriminator, decay)
    net.scores.compile(optimizer=optimizer, loss=[objective.d_loss] * scales, metrics=metrics)
    optimizer.build(net.scores.trainable_variables)
    return PatchCritic(net, optimizer, objective)


def fakes_function(generator: keras.Model) -> Any:
    """G(x) in training mode (batch statistics, dropout on), as the pix2pix and CycleGAN code make the
    fakes their discriminators see, as float32 (whatever the precision policy); traced once."""
    return tf.function(lambda images: tf.cast(generator(images, training=True), "float32"))
