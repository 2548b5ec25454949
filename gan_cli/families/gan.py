"""The classic GAN, wired exactly as the Keras MNIST GAN tutorial wires it, for every adversarial loss.

D is compiled for its own update. Then ``discriminator.trainable = False`` and the combined model
``D(G(z))`` is compiled for the generator's update. Keras 3 reads ``trainable`` when a model's train
function is first traced (its first ``train_on_batch``), not at ``compile()``, so every step sets the
flag right before each update, as the tutorial does: D's update then changes D and not G, the
combined update changes G and not D, and a BatchNormalization layer inside the frozen D runs in
inference mode there.

The loss section picks the objective (bce, least_squares = LSGAN, wasserstein = WGAN, hinge = SNGAN);
``train.d_steps`` gives n_critic D updates per G update; ``discriminator.clip_value`` clips D's weights
after each of its updates (WGAN); ``loss.gradient_penalty`` compiles D's update as
``Model([x, x̂], [D(x), ||∇D(x̂)||])`` with the loss (||∇D(x̂)|| - 1)² weighted by λ on the second output
(WGAN-GP) — still one compiled model trained with ``train_on_batch``; ``loss.r1`` likewise adds
``||∇D(x)||²`` on the real images as a second output weighted γ/2 (R1), with ``loss.r1_every`` = k only on
every k-th D update and then weighted k times (StyleGAN2's lazy regularization; the other updates skip the
gradient computation).

``augment`` puts a :class:`~gan_cli.families.augment.DiffAugment` layer in front of D inside both compiled
models, so D trains on augmented reals and fakes and G's gradient flows through the augmentation; ADA's
probability is steered after each D update from D's real-sign metric. ``train.ema`` keeps an exponential
moving average of G's weights in a clone of G, updated after each G update inside the same step; samples are
drawn from it (:attr:`GanModels.sampler`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import tensorflow as tf

from gan_cli.errors import RecipeError
from gan_cli.families.augment import DiffAugment
from gan_cli.families.losses import (
    Adversarial,
    GradientNorm,
    MeanScore,
    RealSign,
    adversarial,
    information_loss,
    interpolate,
    penalty_loss,
    r1_loss,
    score_midpoint,
)
from gan_cli.families.optimizers import make_optimizer
from gan_cli.nets import (
    build_conditional_discriminator,
    build_conditional_generator,
    build_discriminator,
    build_generator,
    stylegan,
)
from gan_cli.nets.info import info_generator, q_head
from gan_cli.recipe.schema import EmaSpec, InfoSpec, Recipe


@dataclass
class GanModels:
    """G, D, D's compiled update model, the combined model and their optimizers, ready to train."""

    generator: keras.Model
    discriminator: keras.Model
    d_update: keras.Model  # D itself, or D behind the augmentation and/or with a gradient-norm output (GP, R1)
    combined: keras.Model
    d_optimizer: keras.optimizers.Optimizer
    g_optimizer: keras.optimizers.Optimizer
    objective: Adversarial
    clip_value: float | None = None
    num_classes: int | None = None  # set for a conditional GAN: G and D also take a one-hot label
    info: InfoSpec | None = None  # set for InfoGAN: G also takes codes, the combined model also outputs Q(G(.))
    q_layers: list[Any] = field(default_factory=list)  # InfoGAN's own Q-head layers (trained with G)
    penalty: str | None = None  # "gradient" (WGAN-GP: interpolates, seeds per D update) or "r1" (real images)
    augment: DiffAugment | None = None  # in front of D in both compiled models (augment.policy)
    ema_generator: keras.Model | None = None  # the weights' moving average, a clone of G (train.ema)
    ema: EmaSpec | None = None
    #: StyleGAN-mini G: D's fakes are made in training mode too (noise, style mixing), and the average w is
    #: tracked after each G update
    style_based: bool = False
    jit_compile: bool = False  # XLA for the fused step (train.jit_compile, resolved by the trainer)
    strategy: Any = None  # a tf.distribute strategy (train.distribute), the models built in its scope
    _fakes: Any = field(default=None, repr=False)
    _fused: Any = field(default=None, repr=False)

    @property
    def latent_dim(self) -> int:
        return int(self.generator.inputs[0].shape[-1])

    @property
    def real_target(self) -> float:
        return self.objective.real_target

    @property
    def penalized(self) -> bool:
        """True when D's update takes the gradient penalty's interpolation seeds (WGAN-GP)."""
        return self.penalty == "gradient"

    @property
    def sampler(self) -> keras.Model:
        """The generator samples are drawn from: G's moving average with ``train.ema``, else G."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def update_ema(self) -> None:
        """Move the average toward G after a G update: trained weights to ``decay·average + (1 - decay)·G``
        (decay 0 until ``start_step``), everything else (BatchNorm statistics, spectral-norm vectors, random
        states) copied from G, as StyleGAN2-ADA's implementation does. A no-op without ``train.ema``."""
        if self.ema_generator is None or self.ema is None:
            return
        step = tf.cast(self.g_optimizer.iterations, "float32")
        decay = tf.where(step > float(self.ema.start_step), self.ema.decay, 0.0)
        for average, current in zip(self.ema_generator.variables, self.generator.variables):
            if current.trainable:
                average.assign(current + tf.cast(decay, current.dtype) * (average - current))
            else:
                average.assign(current)

    @property
    def conditional(self) -> bool:
        return self.num_classes is not None

    def fake_images(self, noise: tf.Tensor, labels: Any = None) -> tf.Tensor:
        """G(z) (or G(z, y)) in inference mode, as the tutorial's ``generator.predict`` gives (without its
        overhead)."""
        if self._fakes is None:
            generator = self.generator
            mode = self.style_based
            self._fakes = tf.function(lambda inputs: tf.cast(generator(inputs, training=mode), "float32"))
        if self.info is not None:
            return self._fakes([noise, *labels])
        return self._fakes([noise, labels] if self.conditional else noise)

    def update_discriminator(self, real: tf.Tensor, noise: tf.Tensor, penalty_seed: tf.Tensor | None = None,
                             real_labels: tf.Tensor | None = None,
                             fake_labels: tf.Tensor | None = None) -> dict[str, float]:
        """D's update: real then fake images with the objective's targets; changes D only.

        Args:
            real: real images (B, H, W, C).
            noise: latents for the B fakes.
            penalty_seed: stateless seed of the interpolation weights (WGAN-GP only).
            real_labels, fake_labels: one-hot labels of the real images and of the fakes to make
                (conditional GAN only).

        Returns:
            ``d_loss`` (with the penalty, if any) and D's mean scores ``d_real`` and ``d_fake``.
        """
        fake = self.fake_images(noise, fake_labels)
        self.discriminator.trainable = True
        inputs, targets = self._discriminator_data(real, fake, penalty_seed, real_labels, fake_labels)
        result = self.d_update.train_on_batch(inputs, targets, return_dict=True)
        self._clip_discriminator()
        values = _discriminator_values(result)
        self._observe_reals(values)
        return {key: float(value) for key, value in values.items()}

    def update_generator(self, noise: tf.Tensor, labels: Any = None) -> dict[str, float]:
        """G's update through the combined model with D frozen, towards the objective's G target."""
        self.discriminator.trainable = False
        result = self.combined.train_on_batch(*self._generator_data(noise, labels), return_dict=True)
        self._track_average_w(noise)
        self.update_ema()
        return {"g_loss": float(result["loss"])}

    def train_step(self, reals: Sequence[tf.Tensor], noises: Sequence[tf.Tensor], noise_g: tf.Tensor,
                   penalty_seeds: Sequence[tf.Tensor] | None = None, labels: Any = None) -> dict[str, float]:
        """One step, fused: the same updates as :meth:`unfused_step`, traced once into one ``tf.function``
        that calls D's (or D's update model's) and the combined model's own Keras ``train_step``, with
        ``discriminator.trainable`` set while each part is traced — so each still trains exactly its own
        variables, BatchNorm in the frozen D still runs in inference mode, and the Python overhead of two
        ``train_on_batch`` calls per step goes away. Same arguments and result as :meth:`unfused_step`.
        """
        return self.train_steps([(reals, noises, noise_g, penalty_seeds, labels)])[0]

    def train_steps(self, steps: Sequence[tuple[Any, ...]]) -> list[dict[str, float]]:
        """Several consecutive steps (each the arguments of :meth:`train_step`) unrolled in one traced call
        (``train.steps_per_call``), one trace per number of steps; returns each step's values."""
        first = self._fused is None
        if first:
            strategy = self.strategy

            def one(*args: Any) -> dict[str, tf.Tensor]:
                if strategy is None:
                    return self._fused_body(*args)
                # train.distribute: every replica runs the step on its rows; the means are reported
                values = strategy.run(self._fused_body, args=args)
                return {key: strategy.reduce("MEAN", value, axis=None) for key, value in values.items()}

            # a plain Python trace (no loops to convert); XLA when the recipe asks for it
            self._fused = tf.function(lambda batch: [one(*args) for args in batch], autograph=False,
                                      jit_compile=self.jit_compile)
        batch = []
        for reals, noises, noise_g, penalty_seeds, labels in steps:
            real_labels, fake_labels, g_labels = labels if labels is not None else (None, None, None)
            batch.append((list(reals), list(noises), noise_g, list(penalty_seeds) if penalty_seeds else None,
                          real_labels, fake_labels, g_labels))
        if first and self.strategy is not None and self.penalty is not None:
            self._build_compiled_state(batch[0])
        values = self._fused(batch)
        self.discriminator.trainable = True
        return [{key: float(value) for key, value in step.items()} for step in values]

    def _build_compiled_state(self, step: tuple[Any, ...]) -> None:
        """Under ``train.distribute`` with a gradient penalty (GP, R1): create the compiled models' loss and metric
        variables before the first traced step, from one replica's share of ``step``. A ``tf.function`` that
        creates variables on its first call is wrapped in an initializing ``cond``, and in a replica context
        TensorFlow fails to run the penalty's double backprop inside it ("You must feed a value for placeholder
        tensor"). Nothing is computed or changed here beyond creating those (zero) variables."""
        def first_replica(value: Any) -> Any:
            return self.strategy.experimental_local_results(value)[0]

        local: list[Any] = [tf.nest.map_structure(first_replica, part) if part is not None else None for part in step]
        reals, noises, noise_g, penalty_seeds, real_labels, fake_labels, g_labels = local
        with self.strategy.scope():  # what Keras' fit/train_on_batch do under a strategy (private API)
            self.d_update._symbolic_build(data_batch=self._discriminator_data(
                reals[0], reals[0], penalty_seeds[0] if penalty_seeds is not None else None,
                real_labels[0] if real_labels is not None else None,
                fake_labels[0] if fake_labels is not None else None))
            self.combined._symbolic_build(data_batch=self._generator_data(noise_g, g_labels))

    def _fused_body(self, reals: list[tf.Tensor], noises: list[tf.Tensor], noise_g: tf.Tensor,
                    penalty_seeds: list[tf.Tensor] | None, real_labels: Any, fake_labels: Any,
                    g_labels: Any) -> dict[str, tf.Tensor]:
        """The traced step: d_steps D updates, then the G update (see :meth:`train_step`)."""
        totals = {"d_loss": 0.0, "d_real": 0.0, "d_fake": 0.0}
        for index, (real, noise) in enumerate(zip(reals, noises)):
            fake_label = fake_labels[index] if fake_labels is not None else None
            fake = tf.cast(self.generator(self._generator_inputs(noise, fake_label), training=self.style_based),
                           real.dtype)
            self.discriminator.trainable = True
            result = self.d_update.train_step(self._discriminator_data(
                real, fake, penalty_seeds[index] if penalty_seeds is not None else None,
                real_labels[index] if real_labels is not None else None, fake_label))
            # train_on_batch starts each call from fresh metrics; reset after reading them, because the
            # compiled metrics exist only once the first traced train_step has built them
            self.d_update.reset_metrics()
            self._clip_discriminator()
            values = _discriminator_values(result)
            self._observe_reals(values)
            totals = {key: totals[key] + values[key] / len(reals) for key in totals}
        self.discriminator.trainable = False
        result = self.combined.train_step(self._generator_data(noise_g, g_labels))
        self.combined.reset_metrics()
        self._track_average_w(noise_g)
        self.update_ema()
        return {**totals, "g_loss": result["loss"], **self._augment_values()}

    def _generator_inputs(self, noise: tf.Tensor, labels: Any) -> Any:
        if self.info is not None:
            return [noise, *labels]
        return [noise, labels] if self.conditional else noise

    def _discriminator_data(self, real: tf.Tensor, fake: tf.Tensor, penalty_seed: tf.Tensor | None,
                            real_labels: tf.Tensor | None, fake_labels: tf.Tensor | None) -> tuple[Any, Any]:
        """Inputs and targets of one D update, whether driven by ``train_on_batch`` or the fused step: the B real
        then the B fake images with the objective's targets; for WGAN-GP also 2B interpolates (each real/fake pair
        twice, with its own weight) with zero targets for the penalty output; for a conditional D the labels."""
        batch = int(real.shape[0])
        images = tf.concat([real, fake], axis=0)
        targets = tf.concat([tf.fill((batch, 1), self.objective.real_target),
                             tf.fill((batch, 1), self.objective.fake_target)], axis=0)
        if self.penalty == "gradient":
            seed = penalty_seed if penalty_seed is not None else tf.constant([0, 0], tf.int64)
            mixed = interpolate(tf.concat([real, real], 0), tf.concat([fake, fake], 0), seed)
            return [images, mixed], [targets, tf.zeros((2 * batch, 1))]
        if self.penalty == "r1" and self.conditional:
            return [images, tf.concat([real_labels, fake_labels], axis=0), real, real_labels], \
                [targets, tf.zeros((batch, 1))]
        if self.penalty == "r1":
            return [images, real], [targets, tf.zeros((batch, 1))]
        if self.conditional:
            return [images, tf.concat([real_labels, fake_labels], axis=0)], targets
        return images, targets

    def _generator_data(self, noise: tf.Tensor, labels: Any) -> tuple[Any, Any]:
        """Inputs and targets of the combined model's update: the objective's G target for D's score, and for
        InfoGAN also the codes (c1 one-hot, c) that Q must recover."""
        targets = tf.fill((int(noise.shape[0]), 1), self.objective.g_target)
        if self.info is not None:
            return [noise, *labels], [targets, tf.concat(list(labels), axis=1)]
        return self._generator_inputs(noise, labels), targets

    def _clip_discriminator(self) -> None:
        """WGAN's weight clipping of D after its update (no-op for other families)."""
        if self.clip_value is not None:
            for weight in self.discriminator.trainable_weights:
                weight.assign(tf.clip_by_value(weight, -self.clip_value, self.clip_value))

    def unfused_step(self, reals: Sequence[tf.Tensor], noises: Sequence[tf.Tensor], noise_g: tf.Tensor,
                     penalty_seeds: Sequence[tf.Tensor] | None = None, labels: Any = None) -> dict[str, float]:
        """One step the tutorial's way: ``len(reals)`` D updates (``train.d_steps``), then one G update,
        each a ``train_on_batch`` call.

        Args:
            reals: one real batch (B, H, W, C) in [-1, 1] per D update.
            noises: latents (B, latent_dim) for the fakes of each D update.
            noise_g: fresh latents for the generator's update.
            penalty_seeds: one stateless seed per D update for the WGAN-GP interpolation weights.
            labels: for a conditional GAN, ``(real_labels, fake_labels, g_labels)``: one-hot labels of
                each real batch, of each D update's fakes (lists), and of the generator update's fakes.

        Returns:
            ``d_loss``, ``d_real``, ``d_fake`` (means over the D updates) and ``g_loss``.
        """
        real_labels, fake_labels, g_labels = labels if labels is not None else ([None] * len(reals),
                                                                                [None] * len(reals), None)
        totals = {"d_loss": 0.0, "d_real": 0.0, "d_fake": 0.0}
        for index, (real, noise) in enumerate(zip(reals, noises)):
            seed = penalty_seeds[index] if penalty_seeds is not None else None
            values = self.update_discriminator(real, noise, seed, real_labels[index], fake_labels[index])
            for key in totals:
                totals[key] += values[key] / len(reals)
        generator_values = self.update_generator(noise_g, g_labels)
        augment = {key: float(value) for key, value in self._augment_values().items()}
        return {**totals, **generator_values, **augment}

    def _track_average_w(self, noise: tf.Tensor) -> None:
        """StyleGAN-mini: move the tracked average w toward the mapping of this step's G latents (for truncation)."""
        if self.style_based:
            stylegan.update_w_avg(self.generator, noise)

    def _observe_reals(self, values: dict[str, Any]) -> None:
        """ADA: feed D's real-sign statistic of the update just made to the augmentation's probability."""
        if self.augment is not None and "real_sign" in values:
            self.augment.observe(values.pop("real_sign"))

    def _augment_values(self) -> dict[str, Any]:
        """``augment_p``, ADA's probability after the step (nothing without ADA)."""
        if self.augment is None or not self.augment.adaptive:
            return {}
        return {"augment_p": tf.identity(self.augment.probability)}

    def optimizers(self) -> dict[str, list[keras.optimizers.Optimizer]]:
        """The optimizers by the recipe's ``optimizers`` key whose learning rate they take."""
        return {"generator": [self.g_optimizer], "discriminator": [self.d_optimizer]}

    def checkpoint_state(self) -> dict[str, list[Any]]:
        """Everything an exact resume needs from the models: weights, BN statistics, spectral-norm
        vectors, dropout RNG state (``model.variables`` includes SeedGenerator states; ``weights`` does
        not) and both optimizers' slots and iteration counters."""
        state = {
            "generator": list(self.generator.variables),
            "discriminator": list(self.discriminator.variables),
            "g_optimizer": list(self.g_optimizer.variables),
            "d_optimizer": list(self.d_optimizer.variables),
        }
        if self.q_layers:
            state["q_head"] = [v for layer in self.q_layers for v in layer.variables]
        if self.ema_generator is not None:
            state["ema_generator"] = list(self.ema_generator.variables)
        if self.augment is not None:
            state["augment"] = list(self.augment.variables)
        return state


def _discriminator_values(result: dict[str, Any]) -> dict[str, Any]:
    """``d_loss`` (with the penalty, if any) and D's mean scores ``d_real`` and ``d_fake`` from an update's logs."""
    values = {"d_loss": result["loss"], "d_real": _ending(result, "real_score"),
              "d_fake": _ending(result, "fake_score")}
    if any(key.endswith("real_sign") for key in result):
        values["real_sign"] = _ending(result, "real_sign")
    return values


def _ending(result: dict[str, Any], suffix: str) -> Any:
    """A metric from ``train_on_batch``'s dict; multi-output models prefix names with the output's."""
    return next(value for key, value in result.items() if key.endswith(suffix))


def build(recipe: Recipe, image_shape: tuple[int, int, int], num_classes: int | None = None) -> GanModels:
    """Build and compile G, D (or D's penalized update model) and the combined model the tutorial's way.

    Both optimizers are built before the first step (D's for D's variables, G's for the combined
    model's trainable variables with D frozen, i.e. G's), so a checkpoint can restore their state.
    """
    generator = build_generator(recipe.generator, image_shape)
    discriminator = build_discriminator(recipe.discriminator, image_shape)
    return _compile(recipe, generator, discriminator, image_shape, None)


def build_conditional(recipe: Recipe, image_shape: tuple[int, int, int], num_classes: int | None = None) -> GanModels:
    """The conditional GAN (Mirza & Osindero 2014): G(z, y) and D(x, y) with a one-hot class label y, the
    combined model ``Model([z, y], D(G(z, y), y))``; otherwise trained exactly like ``build``'s GAN.

    Raises:
        RecipeError: the data has no labels. (Recipe validation refuses the gradient penalty here; R1 scores
            each real image with its own label.)
    """
    if not num_classes:
        raise RecipeError("family: cgan needs labelled data (digits, mnist, fashion_mnist, cifar10, or an "
                          "npz/idx/folder source with labels)")
    generator = build_conditional_generator(recipe.generator, image_shape, num_classes, recipe.condition)
    discriminator = build_conditional_discriminator(recipe.discriminator, image_shape, num_classes, recipe.condition)
    return _compile(recipe, generator, discriminator, image_shape, num_classes)


def build_info(recipe: Recipe, image_shape: tuple[int, int, int], num_classes: int | None = None) -> GanModels:
    """InfoGAN (Chen et al. 2016): G(z, c1, c) and a Q head on D's body. D is compiled for its own update
    as usual; the combined model ``Model([z, c1, c], [D(G(.)), Q(G(.))])`` is compiled with D frozen and
    the losses [adversarial, information] weighted [1, info.weight], so G's update also trains Q's head.

    Recipe validation refuses the gradient penalty, R1 and augmentation here (Q reads D's features).
    """
    generator = info_generator(recipe.generator, image_shape, recipe.info, build_generator)
    discriminator = build_discriminator(recipe.discriminator, image_shape)
    return _compile(recipe, generator, discriminator, image_shape, None, info=True)


def _compile(recipe: Recipe, generator: keras.Model, discriminator: keras.Model, image_shape: tuple[int, int, int],
             num_classes: int | None, info: bool = False) -> GanModels:
    objective = adversarial(recipe.loss, recipe.discriminator.output_activation)
    logits = objective.probabilities and recipe.discriminator.output_activation == "linear"
    metrics: list[Any] = [MeanScore(True, objective.real_target, logits),
                          MeanScore(False, objective.real_target, logits)]
    augment = _augmentation(recipe, discriminator)
    if augment is not None and augment.adaptive:
        metrics.append(RealSign(objective.real_target, score_midpoint(objective, logits)))
    critic = _behind(augment, discriminator, image_shape, num_classes)

    d_optimizer = make_optimizer(recipe.optimizers.discriminator)
    penalty = "gradient" if recipe.loss.gradient_penalty > 0 else "r1" if recipe.loss.r1 > 0 else None
    if penalty is not None:
        images = keras.Input(image_shape, name="images")
        at = keras.Input(image_shape, name="interpolates" if penalty == "gradient" else "reals")
        every = recipe.loss.r1_every if penalty == "r1" else 1
        # lazy R1: D's update i (its optimizer's iterations before the update, checkpointed) is penalized when
        # i % k == 0; read inside the traced update, so the fused step and train_on_batch agree
        norm = GradientNorm(critic, every=every, active=lambda: tf.equal(d_optimizer.iterations % every, 0),
                            name="grad_norm")
        if num_classes:  # R1 only (validation): each real image's gradient with its own label
            labels, real_labels = keras.Input((num_classes,), name="labels"), keras.Input((num_classes,),
                                                                                          name="real_labels")
            d_update = keras.Model([images, labels, at, real_labels],
                                   [critic([images, labels]), norm([at, real_labels])], name="discriminator_update")
        else:
            d_update = keras.Model([images, at], [critic(images), norm(at)], name="discriminator_update")
        d_update.compile(optimizer=d_optimizer, loss=[objective.d_loss, penalty_loss if penalty == "gradient" else
                                                      r1_loss],
                         loss_weights=[1.0, recipe.loss.gradient_penalty or recipe.loss.r1 / 2], metrics=[metrics, []])
    else:
        d_update = critic
        critic.compile(optimizer=d_optimizer, loss=objective.d_loss, metrics=metrics)

    discriminator.trainable = False
    z = keras.Input((recipe.generator.latent_dim,), name="z")
    q_layers: list[Any] = []
    g_optimizer = make_optimizer(recipe.optimizers.generator)
    if num_classes:
        label = keras.Input((num_classes,), name="label")
        combined = keras.Model([z, label], critic([generator([z, label]), label]), name="combined")
        combined.compile(optimizer=g_optimizer, loss=objective.g_loss)
    elif info:
        q_model, q_layers = q_head(discriminator, recipe.info)
        codes = [keras.Input((recipe.info.categorical,), name="c_categorical"),
                 keras.Input((recipe.info.continuous,), name="c_continuous")]
        image = generator([z, *codes])
        combined = keras.Model([z, *codes], [discriminator(image), q_model(image)], name="combined")
        combined.compile(optimizer=g_optimizer, loss=[objective.g_loss,
                                                      information_loss(recipe.info.categorical,
                                                                       recipe.info.continuous_weight)],
                         loss_weights=[1.0, recipe.info.weight])
    else:
        combined = keras.Model(z, critic(generator(z)), name="combined")
        combined.compile(optimizer=g_optimizer, loss=objective.g_loss)
    g_optimizer.build(combined.trainable_variables)

    discriminator.trainable = True
    d_optimizer.build(d_update.trainable_variables)
    ema = recipe.train.ema if recipe.train.ema.decay > 0 else None
    return GanModels(generator, discriminator, d_update, combined, d_optimizer, g_optimizer, objective,
                     recipe.discriminator.clip_value, num_classes, recipe.info if info else None, q_layers,
                     penalty=penalty, augment=augment, ema_generator=_average_of(generator) if ema else None, ema=ema,
                     style_based=stylegan.is_stylegan(generator))


def _augmentation(recipe: Recipe, discriminator: keras.Model) -> DiffAugment | None:
    """The recipe's ``augment`` as a layer (None without a policy); ADA's step is ``batch·interval / images``."""
    spec = recipe.augment
    if not spec.policy:
        return None
    step_size = recipe.train.batch_size * spec.ada_interval / spec.ada_images
    return DiffAugment(spec.policy, adaptive=spec.ada, target=spec.ada_target, interval=spec.ada_interval,
                       step_size=step_size, seed=recipe.seed, name="augment")


def _behind(augment: DiffAugment | None, discriminator: keras.Model, image_shape: tuple[int, int, int],
            num_classes: int | None) -> keras.Model:
    """D itself, or ``D(augment(image)[, label])``: the model both compiled models call (sharing D's layers)."""
    if augment is None:
        return discriminator
    image = keras.Input(image_shape, name="image")
    if num_classes:
        label = keras.Input((num_classes,), name="label")
        return keras.Model([image, label], discriminator([augment(image), label]), name="augmented_discriminator")
    return keras.Model(image, discriminator(augment(image)), name="augmented_discriminator")


def _average_of(generator: keras.Model) -> keras.Model:
    """A clone of G holding a copy of its weights (and every other variable), to keep G's moving average in."""
    average = keras.models.clone_model(generator)
    for copy, original in zip(average.variables, generator.variables, strict=True):
        copy.assign(original)  # assign refuses a shape mismatch: the clone keeps the variables' order
    return average
