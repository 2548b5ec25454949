"""The classic GAN, wired exactly as the Keras MNIST GAN tutorial wires it.

D is compiled for its own update. Then ``discriminator.trainable = False`` and the combined model
``D(G(z))`` is compiled for the generator's update. Keras 3 reads ``trainable`` when a model's train
function is first traced (its first ``train_on_batch``), not at ``compile()``, so every step sets the
flag right before each update, as the tutorial does: D's update then changes D and not G, the
combined update changes G and not D, and a BatchNormalization layer inside the frozen D runs in
inference mode there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
import tensorflow as tf

from gan_cli.losses import MeanScore, adversarial_loss, real_target
from gan_cli.nets import build_discriminator, build_generator
from gan_cli.optimizers import make_optimizer
from gan_cli.recipe import Recipe


@dataclass
class GanModels:
    """G, D, the combined model and their optimizers, ready to train."""

    generator: keras.Model
    discriminator: keras.Model
    combined: keras.Model
    d_optimizer: keras.optimizers.Optimizer
    g_optimizer: keras.optimizers.Optimizer
    real_target: float
    _fakes: Any = field(default=None, repr=False)

    @property
    def latent_dim(self) -> int:
        return int(self.generator.input_shape[-1])

    def fake_images(self, noise: tf.Tensor) -> tf.Tensor:
        """G(z) in inference mode, as the tutorial's ``generator.predict`` gives (without its overhead)."""
        if self._fakes is None:
            generator = self.generator
            self._fakes = tf.function(lambda z: generator(z, training=False))
        return self._fakes(noise)

    def update_discriminator(self, real: tf.Tensor, noise: tf.Tensor) -> dict[str, float]:
        """D's update: real then fake images, labelled ``real_target`` and 0; changes D only.

        Returns:
            ``d_loss`` and D's mean scores ``d_real`` (D(x)) and ``d_fake`` (D(G(z))).
        """
        batch = int(real.shape[0])
        images = tf.concat([real, self.fake_images(noise)], axis=0)
        targets = tf.concat([tf.fill((batch, 1), self.real_target), tf.zeros((batch, 1))], axis=0)
        self.discriminator.trainable = True
        result = self.discriminator.train_on_batch(images, targets, return_dict=True)
        return {"d_loss": float(result["loss"]), "d_real": float(result["real_score"]),
                "d_fake": float(result["fake_score"])}

    def update_generator(self, noise: tf.Tensor) -> dict[str, float]:
        """G's update through the combined model with D frozen, towards D saying "real" (1)."""
        self.discriminator.trainable = False
        result = self.combined.train_on_batch(noise, tf.ones((int(noise.shape[0]), 1)), return_dict=True)
        return {"g_loss": float(result["loss"])}

    def train_step(self, real: tf.Tensor, noise_d: tf.Tensor, noise_g: tf.Tensor) -> dict[str, float]:
        """One tutorial step: D's update on ``real`` and G(``noise_d``), then G's with fresh ``noise_g``.

        Args:
            real: a batch of real images (B, H, W, C) in [-1, 1].
            noise_d: latents (B, latent_dim) for the fakes D sees.
            noise_g: fresh latents (B, latent_dim) for the generator's update.

        Returns:
            ``d_loss``, ``g_loss``, ``d_real`` (mean D(x)) and ``d_fake`` (mean D(G(z))).
        """
        return {**self.update_discriminator(real, noise_d), **self.update_generator(noise_g)}

    def checkpoint_state(self) -> dict[str, list[Any]]:
        """Everything an exact resume needs from the models: weights, BN statistics, dropout RNG
        state (``model.variables`` includes SeedGenerator states; ``weights`` does not) and both
        optimizers' slots and iteration counters."""
        return {
            "generator": list(self.generator.variables),
            "discriminator": list(self.discriminator.variables),
            "g_optimizer": list(self.g_optimizer.variables),
            "d_optimizer": list(self.d_optimizer.variables),
        }


def build(recipe: Recipe, image_shape: tuple[int, int, int]) -> GanModels:
    """Build and compile G, D and the combined model the tutorial's way.

    Both optimizers are built before the first step (D's for D's variables, G's for the combined
    model's trainable variables with D frozen, i.e. G's), so a checkpoint can restore their state.
    """
    generator = build_generator(recipe.generator, image_shape)
    discriminator = build_discriminator(recipe.discriminator, image_shape)
    logits = recipe.discriminator.output_activation == "linear"
    loss = adversarial_loss(recipe.loss, recipe.discriminator.output_activation)

    d_optimizer = make_optimizer(recipe.optimizers.discriminator)
    discriminator.compile(optimizer=d_optimizer, loss=loss,
                          metrics=[MeanScore(real=True, logits=logits), MeanScore(real=False, logits=logits)])

    discriminator.trainable = False
    z = keras.Input((recipe.generator.latent_dim,), name="z")
    combined = keras.Model(z, discriminator(generator(z)), name="combined")
    g_optimizer = make_optimizer(recipe.optimizers.generator)
    combined.compile(optimizer=g_optimizer, loss=loss)
    g_optimizer.build(combined.trainable_variables)

    discriminator.trainable = True
    d_optimizer.build(discriminator.trainable_variables)
    return GanModels(generator, discriminator, combined, d_optimizer, g_optimizer, real_target(recipe.loss))
