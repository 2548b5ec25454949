"""CycleGAN (Zhu et al. 2017): unpaired translation A <-> B, wired the tutorial's way.

Two generators, G: A -> B and F: B -> A, and two PatchGAN discriminators, D_B (is this a real B?) and
D_A, each compiled for its own update and fed from a history pool of generated images. Then both Ds
are frozen and one combined model

    Model([A, B], [D_B(G(A)), D_A(F(B)), F(G(A)), G(F(B)), F(A), G(B)])

is compiled with the losses [adversarial, adversarial, L1, L1, L1, L1] weighted
[``adversarial_weight`` x2, ``cycle_weight`` x2, ``cycle_weight`` x ``identity_weight`` x2], targets
[G's patch targets x2, A, B, A, B]: both generators' whole update in one ``train_on_batch``, with one
optimizer over both, as the paper's code has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf

from gan_cli.errors import RecipeError
from gan_cli.families.image_pool import ImagePool
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
class CycleGanModels:
    """G (A -> B), F (B -> A), D_B, D_A, their pools, the combined model and the generators' optimizer."""

    generator: keras.Model
    inverse: keras.Model
    critic_b: PatchCritic
    critic_a: PatchCritic
    pool_b: ImagePool
    pool_a: ImagePool
    combined: keras.Model
    g_optimizer: keras.optimizers.Optimizer
    _fakes: Any = None

    @property
    def generators(self) -> dict[str, keras.Model]:
        return {"a2b": self.generator, "b2a": self.inverse}

    @property
    def discriminators(self) -> list[keras.Model]:
        return [self.critic_b.model, self.critic_a.model]

    def train_step(self, a: tf.Tensor, b: tf.Tensor, seed: tf.Tensor) -> dict[str, float]:
        """D_B's and D_A's updates (real images vs pooled fakes), then both generators' update.

        Args:
            a, b: unpaired batches of A and B images in [-1, 1].
            seed: stateless seed (2 int64) of this step's pool draws.

        Returns:
            ``d_loss``, ``d_real``, ``d_fake`` (means over both Ds), ``d_b_loss``, ``d_a_loss``, ``g_loss``
            (the generators' total), ``g_adv``, ``cycle`` and ``identity`` (unweighted L1 sums).
        """
        if self._fakes is None:
            forward, backward = fakes_function(self.generator), fakes_function(self.inverse)
            self._fakes = lambda x, y: (forward(x), backward(y))
        fake_b, fake_a = self._fakes(a, b)
        offset = tf.constant([0, 2], tf.int64)
        values_b = self.critic_b.update([b], [self.pool_b.query(fake_b, seed)])
        values_a = self.critic_a.update([a], [self.pool_a.query(fake_a, seed + offset)])
        self.critic_b.model.trainable = False
        self.critic_a.model.trainable = False
        batch = int(a.shape[0])
        outputs = self.combined.outputs
        scales = len(self.critic_b.model.outputs)
        g_target = self.critic_b.objective.g_target
        targets = [*patch_targets(outputs[: 2 * scales], batch, g_target), a, b, a, b]
        result = self.combined.train_on_batch([a, b], targets, return_dict=True)
        return {"d_loss": (values_b["d_loss"] + values_a["d_loss"]) / 2,
                "d_real": (values_b["d_real"] + values_a["d_real"]) / 2,
                "d_fake": (values_b["d_fake"] + values_a["d_fake"]) / 2,
                "d_b_loss": values_b["d_loss"], "d_a_loss": values_a["d_loss"],
                "g_loss": float(result["loss"]), "g_adv": loss_sum(result, "score_loss"),
                "cycle": loss_sum(result, "cycle_loss"), "identity": loss_sum(result, "identity_loss")}

    def optimizers(self) -> dict[str, list[keras.optimizers.Optimizer]]:
        """The optimizers by the recipe's ``optimizers`` key whose learning rate they take."""
        return {"generator": [self.g_optimizer], "discriminator": [self.critic_b.optimizer, self.critic_a.optimizer]}

    def checkpoint_state(self) -> dict[str, list[Any]]:
        """Both generators and discriminators, all three optimizers, and both image pools."""
        return {"generator": list(self.generator.variables), "inverse": list(self.inverse.variables),
                "discriminator_b": list(self.critic_b.model.variables),
                "discriminator_a": list(self.critic_a.model.variables),
                "g_optimizer": list(self.g_optimizer.variables),
                "d_b_optimizer": list(self.critic_b.optimizer.variables),
                "d_a_optimizer": list(self.critic_a.optimizer.variables),
                "pools": [*self.pool_b.variables, *self.pool_a.variables]}


def build(recipe: Recipe, shape_a: tuple[int, int, int], shape_b: tuple[int, int, int],
          total_steps: int) -> CycleGanModels:
    """Build and compile CycleGAN's two generators, two discriminators and the combined model.

    Raises:
        RecipeError: sizes differ, the identity loss is asked for between domains with different channel
            counts, or feature matching is asked for (pix2pix only).
    """
    spec = recipe.translation
    if shape_a[:2] != shape_b[:2]:
        raise RecipeError(f"data: A images are {shape_a[0]}x{shape_a[1]} but B images {shape_b[0]}x{shape_b[1]}; "
                          "set data.image_size so both have one size")
    if spec.identity_weight > 0 and shape_a[2] != shape_b[2]:
        raise RecipeError(f"translation.identity_weight: the identity loss feeds B images to G: A -> B, but A has "
                          f"{shape_a[2]} channels and B {shape_b[2]}; set it to 0 or data.channels")
    if spec.feature_matching_weight > 0:
        raise RecipeError("translation.feature_matching_weight: only pix2pix has feature matching; set it to 0")
    decay = decay_window(recipe, total_steps)
    generator = build_translator(recipe.generator, shape_a, shape_b[2], "generator")
    inverse = build_translator(recipe.generator, shape_b, shape_a[2], "inverse")
    critic_b = build_critic(recipe, shape_b, None, decay, "discriminator_b")
    critic_a = build_critic(recipe, shape_a, None, decay, "discriminator_a")
    critic_b.model.trainable = False
    critic_a.model.trainable = False
    a, b = keras.Input(shape_a, name="a"), keras.Input(shape_b, name="b")
    fake_b, fake_a = generator(a), inverse(b)
    scores = [*_as_list(critic_b.model(fake_b)), *_as_list(critic_a.model(fake_a))]
    outputs = [keras.layers.Identity(name=f"s{i}_score")(s) for i, s in enumerate(scores)]
    outputs += [keras.layers.Identity(name="a_cycle")(inverse(fake_b)),
                keras.layers.Identity(name="b_cycle")(generator(fake_a)),
                keras.layers.Identity(name="a_identity")(inverse(a)),
                keras.layers.Identity(name="b_identity")(generator(b))]
    identity = spec.cycle_weight * spec.identity_weight
    combined = keras.Model([a, b], outputs, name="combined")
    g_optimizer = make_optimizer(recipe.optimizers.generator, decay)
    combined.compile(optimizer=g_optimizer, loss=[critic_b.objective.g_loss] * len(scores) + ["mae"] * 4,
                     loss_weights=[spec.adversarial_weight] * len(scores)
                     + [spec.cycle_weight] * 2 + [identity] * 2)
    g_optimizer.build(combined.trainable_variables)
    critic_b.model.trainable = True
    critic_a.model.trainable = True
    return CycleGanModels(generator, inverse, critic_b, critic_a,
                          ImagePool(spec.pool_size, shape_b, "pool_b"), ImagePool(spec.pool_size, shape_a, "pool_a"),
                          combined, g_optimizer)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

