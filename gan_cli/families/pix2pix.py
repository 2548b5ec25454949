"""pix2pix (Isola et al. 2017): paired image-to-image translation, wired the tutorial's way.

The PatchGAN D sees the input A together with an output, and is compiled for its own update. Then
D is frozen and the combined model

    Model(A, [D(A, G(A)) per scale, G(A), D's features of (A, G(A))])

is compiled with the losses [adversarial per scale, L1, L1 per feature] weighted
[``adversarial_weight``, ``l1_weight``, ``feature_matching_weight`` / number of feature maps], so one ``train_on_batch``
with targets [G's patch targets, true B, D's features of (A, B)] is G's whole update: pix2pix's
GAN + λ·L1 objective and, with several scales and feature matching, pix2pixHD's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf

from gan_cli.errors import RecipeError
from gan_cli.families.optimizers import make_optimizer
from gan_cli.families.translation import (
    PatchCritic,
    build_critic,
    decay_window,
    fakes_function,
    loss_sum,
    patch_targets,
)
from gan_cli.nets import build_translator
from gan_cli.recipe.schema import Recipe


@dataclass
class Pix2PixModels:
    """G (A -> B), the conditional PatchGAN critic, the combined model and G's optimizer."""

    generator: keras.Model
    critic: PatchCritic
    combined: keras.Model
    g_optimizer: keras.optimizers.Optimizer
    feature_matching: bool
    _fakes: Any = None

    @property
    def generators(self) -> dict[str, keras.Model]:
        return {"a2b": self.generator}

    @property
    def discriminators(self) -> list[keras.Model]:
        return [self.critic.model]

    def train_step(self, a: tf.Tensor, b: tf.Tensor, seed: tf.Tensor) -> dict[str, float]:
        """D's update on (A, B) as real and (A, G(A)) as fake, then G's update through the combined model.

        Args:
            a, b: a batch of paired inputs and targets in [-1, 1].
            seed: unused (pix2pix draws no randomness of its own besides G's dropout).

        Returns:
            ``d_loss``, ``d_real``, ``d_fake``, ``g_loss`` (G's total), ``g_adv`` and ``l1`` (and ``fm``).
        """
        if self._fakes is None:
            self._fakes = fakes_function(self.generator)
        fake = self._fakes(a)
        values = self.critic.update([a, b], [a, fake])
        self.critic.model.trainable = False
        batch = int(a.shape[0])
        scores = self.critic.model.outputs
        targets = [*patch_targets(scores, batch, self.critic.objective.g_target), b]
        if self.feature_matching:
            targets += [tf.cast(f, "float32") for f in self.critic.net.features([a, b], training=False)]
        result = self.combined.train_on_batch(a, targets, return_dict=True)
        values.update(g_loss=float(result["loss"]), g_adv=loss_sum(result, "score_loss"),
                      l1=loss_sum(result, "l1_loss"))
        if self.feature_matching:
            values["fm"] = loss_sum(result, "_fm_loss")
        return values

    def optimizers(self) -> dict[str, list[keras.optimizers.Optimizer]]:
        """The optimizers by the recipe's ``optimizers`` key whose learning rate they take."""
        return {"generator": [self.g_optimizer], "discriminator": [self.critic.optimizer]}

    def checkpoint_state(self) -> dict[str, list[Any]]:
        """Weights, normalization statistics, dropout RNG state and both optimizers' slots and counters."""
        return {"generator": list(self.generator.variables),
                "discriminator": list(self.critic.model.variables),
                "g_optimizer": list(self.g_optimizer.variables),
                "d_optimizer": list(self.critic.optimizer.variables)}


def build(recipe: Recipe, shape_a: tuple[int, int, int], shape_b: tuple[int, int, int],
          total_steps: int) -> Pix2PixModels:
    """Build and compile pix2pix's G, D and combined model for images A of ``shape_a`` and B of ``shape_b``.

    Raises:
        RecipeError: the networks do not fit the image size.
    """
    if shape_a[:2] != shape_b[:2]:
        raise RecipeError(f"data: A images are {shape_a[0]}x{shape_a[1]} but B images {shape_b[0]}x{shape_b[1]}; "
                          "set data.image_size so both have one size")
    decay = decay_window(recipe, total_steps)
    spec = recipe.translation
    generator = build_translator(recipe.generator, shape_a, shape_b[2])
    critic = build_critic(recipe, shape_b, shape_a, decay)
    feature_matching = spec.feature_matching_weight > 0

    critic.model.trainable = False
    a = keras.Input(shape_a, name="a")
    fake = generator(a)
    scores = critic.model([a, fake])
    scores = scores if isinstance(scores, list) else [scores]
    outputs = [keras.layers.Identity(name=f"s{i}_score")(s) for i, s in enumerate(scores)]
    outputs.append(keras.layers.Identity(name="l1")(fake))
    losses: list[Any] = [critic.objective.g_loss] * len(scores) + ["mae"]
    weights = [spec.adversarial_weight] * len(scores) + [spec.l1_weight]
    if feature_matching:
        features = critic.net.features([a, fake])
        outputs += [keras.layers.Identity(name=f"f{i}_fm")(f) for i, f in enumerate(features)]
        losses += ["mae"] * len(features)
        weights += [spec.feature_matching_weight / len(features)] * len(features)  # λ x the mean over layers
    combined = keras.Model(a, outputs, name="combined")
    g_optimizer = make_optimizer(recipe.optimizers.generator, decay)
    combined.compile(optimizer=g_optimizer, loss=losses, loss_weights=weights)
    g_optimizer.build(combined.trainable_variables)
    critic.model.trainable = True
    return Pix2PixModels(generator, critic, combined, g_optimizer, feature_matching)
