"""Training the GAN families (gan, cgan, infogan): their steps (:class:`GanStepper`) inside the shared
:class:`~gan_cli.training.epoch_loop.EpochLoop`.

Randomness is a pure function of the recipe's seed and the step counter (batch indices per epoch as
:mod:`gan_cli.training.schedule` draws them, noise from ``tf.random.stateless_normal`` with ``[seed, step]``),
and the only other random state, the dropout SeedGenerators, is checkpointed with the weights. So a resumed
run continues exactly where a straight run would have been.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gan_cli.data import DataOutline, ImageSet, load_images, outline_images
from gan_cli.data.transforms import to_unit_range
from gan_cli.device import distribute, precision, xla
from gan_cli.errors import DataError
from gan_cli.evaluation.health import HealthMonitor
from gan_cli.evaluation.metrics import diversity
from gan_cli.families import FAMILIES
from gan_cli.families.interface import GanFamily
from gan_cli.recipe.schema import TRANSLATION_FAMILIES, Recipe, TrainSpec
from gan_cli.runs import images as imgs
from gan_cli.runs.checkpoints import CheckpointStore
from gan_cli.runs.export import save_portable
from gan_cli.runs.run_dir import METRIC_COLUMNS, RunDir
from gan_cli.sampling import generate, latent_batch
from gan_cli.training import translation_trainer
from gan_cli.training.epoch_eval import EpochEvaluation
from gan_cli.training.epoch_loop import EpochLoop, begin
from gan_cli.training.plan import TrainingPlan
from gan_cli.training.schedule import epoch_indices, epoch_rng, set_up, steps_per_epoch, total_steps

#: Offset that keeps the WGAN-GP interpolation seeds apart from the noise seeds.
PENALTY_STREAM = 2**40
#: Offset of the seeds of the labels a conditional GAN's fakes are asked for.
LABEL_STREAM = 2**41
#: Offset of the seeds of InfoGAN's continuous codes.
CODE_STREAM = 2**42


def batch_indices(spec: TrainSpec, seed: int, epoch: int, num_images: int, steps: int,
                  replicas: int = 1) -> np.ndarray:
    """Indices of the real images for every step of one epoch, shape (steps, d_steps, batch_size x replicas)
    (:func:`~gan_cli.training.schedule.epoch_indices`, one row per step)."""
    batch = spec.batch_size * replicas
    order = epoch_indices(epoch_rng(seed, epoch), num_images, steps, spec.d_steps * batch, spec.batch_selection)
    return order.reshape(steps, spec.d_steps, batch)


def _prepare(recipe: Recipe) -> tuple[ImageSet, GanFamily, int, int]:
    """Seed, load the data, build the family's models: (data, models, steps per epoch, total steps).

    Raises:
        DataError, RecipeError: the data or networks do not fit the recipe.
    """
    strategy = set_up(recipe)
    data = load_images(recipe.data)
    models, per_epoch, total = _build(recipe, strategy, data.image_shape, data.num_classes, len(data.images))
    return data, models, per_epoch, total


def _build(recipe: Recipe, strategy: Any, image_shape: tuple[int, int, int], num_classes: int | None,
           num_images: int) -> tuple[GanFamily, int, int]:
    """The family's models for images of ``image_shape``: (models, steps per epoch, total steps).

    Raises:
        DataError, RecipeError: the data or networks do not fit the recipe.
    """
    global_batch = recipe.train.batch_size * distribute.replicas(strategy)
    per_epoch = steps_per_epoch(num_images, global_batch * recipe.train.d_steps, f"{num_images} images")
    _, total = total_steps(recipe, per_epoch)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        models = FAMILIES[recipe.family](recipe, image_shape, num_classes)
    models.strategy = strategy
    models.jit_compile = xla.resolve(recipe.train.jit_compile, recipe.train.distribute)
    return models, per_epoch, total


def describe(recipe: Recipe) -> list[str]:
    """Lines for ``--dry-run``: the data, each network's parameter count, and the schedule.

    Nothing is downloaded: a data set of fixed shape (mnist, fashion_mnist, cifar10) that cannot be read here gets
    networks built for its defined shape, and a last line saying what was not found and where it was looked for.

    Raises:
        DataError, RecipeError: the data (of any other source) or networks do not fit the recipe.
    """
    if recipe.family in TRANSLATION_FAMILIES:
        return translation_trainer.describe(recipe)
    outline = outline_images(recipe.data)
    if outline is None:
        return _describe_built(recipe, *_prepare(recipe))
    strategy = set_up(recipe)
    missing = outline.missing
    if missing is None:  # a local copy: read it (it may differ from the definition), or say why it cannot be
        try:
            data = load_images(recipe.data)
        except DataError as exc:
            missing = str(exc)
        else:
            return _describe_built(recipe, data, *_build(recipe, strategy, data.image_shape, data.num_classes,
                                                         len(data.images)))
    built = _build(recipe, strategy, outline.image_shape, outline.num_classes, outline.count)
    return [*_describe_built(recipe, outline, *built), f"data not read: {missing}"]


def _describe_built(recipe: Recipe, data: ImageSet | DataOutline, models: GanFamily, per_epoch: int,
                    total: int) -> list[str]:
    """:func:`describe`'s lines for data and models already built."""
    return [
        f"data: {data.description}",
        f"generator: {models.generator.count_params():,} parameters, z ({models.latent_dim},)"
        f"{f' + one-hot label ({models.num_classes},)' if models.conditional else ''}"
        f"{f' + codes c1 ({models.info.categorical},), c ({models.info.continuous},)' if models.info else ''}"
        f" -> image {data.image_shape}",
        f"discriminator: {models.discriminator.count_params():,} parameters",
        f"combined D(G(z)): {_frozen_trainable_count(models):,} trainable parameters "
        f"(G's{' and the Q head' if models.info else ''}; D frozen)",
        f"schedule: {per_epoch} steps per epoch, {total} steps in all"
        + (f"; {distribute.replicas(models.strategy)} replicas ({recipe.train.distribute}), global batch "
           f"{recipe.train.batch_size * distribute.replicas(models.strategy)}" if models.strategy else ""),
        *_techniques(recipe),
        precision.describe(recipe.train.precision),
        xla.describe(recipe.train.jit_compile, recipe.train.distribute),
    ]


def _techniques(recipe: Recipe) -> list[str]:
    """``--dry-run``'s line about the recipe's EMA, augmentation and penalties (none when it uses none)."""
    parts = []
    if recipe.train.ema.decay > 0:
        start = f" from step {recipe.train.ema.start_step}" if recipe.train.ema.start_step else ""
        parts.append(f"generator EMA (decay {recipe.train.ema.decay:g}{start}; samples and generator.keras use it)")
    spec = recipe.augment
    if spec.policy:
        how = (f"ADA: p from 0 toward D's real-sign target {spec.ada_target:g}, adjusted every {spec.ada_interval} "
               f"steps" if spec.ada else "every image")
        parts.append(f"augmentation {', '.join(spec.policy)} ({how})")
    if recipe.loss.r1 > 0:
        lazy = f" lazily (one D update in {recipe.loss.r1_every}, weighted {recipe.loss.r1_every}x)" \
            if recipe.loss.r1_every > 1 else ""
        parts.append(f"R1 penalty gamma {recipe.loss.r1:g}{lazy}")
    if recipe.loss.gradient_penalty > 0:
        parts.append(f"gradient penalty lambda {recipe.loss.gradient_penalty:g}")
    return [f"techniques: {'; '.join(parts)}"] if parts else []


def _frozen_trainable_count(models: GanFamily) -> int:
    """Parameters the combined model's update trains, counted with D frozen as during that update."""
    models.discriminator.trainable = False
    try:
        return sum(int(np.prod(v.shape)) for v in models.combined.trainable_weights)
    finally:
        models.discriminator.trainable = True


def train(plan: TrainingPlan, echo: Callable[[str], None] = print, progress: bool | None = None,
          verbose: bool = False) -> dict[str, Any]:
    """Train the plan's recipe into its run directory (new, or resumed from its latest checkpoint).

    pix2pix and CycleGAN recipes go to :func:`gan_cli.training.translation_trainer.train`.

    Args:
        plan: from ``plan_training``.
        echo: receives one summary line per epoch and the closing lines.
        progress: show a tqdm bar per epoch; None shows it only on a terminal.
        verbose: echo all of :func:`describe`'s lines (networks, schedule, precision) before training, not only
            the data's.

    Returns:
        The run's summary (also written to ``summary.json``).

    Raises:
        DataError, RecipeError: the data or networks do not fit the recipe (before any file is written).
        TrainingDiverged: a loss became NaN or infinite (the last good checkpoint is kept).
        TrainingInterrupted: Ctrl-C (the last checkpoint is kept).
    """
    if plan.recipe.family in TRANSLATION_FAMILIES:
        return translation_trainer.train(plan, echo, progress, verbose)
    recipe, run = plan.recipe, plan.run
    data, models, per_epoch, total = _prepare(recipe)
    rows, cols = recipe.sampling.grid
    fixed = latent_batch(rows * cols, models.latent_dim, recipe.seed)

    chief = distribute.is_chief(models.strategy)
    if chief:
        lines = _describe_built(recipe, data, models, per_epoch, total) if verbose else [f"data: {data.description}"]
        for line in lines:
            echo(line)
    checkpoints = run.checkpoints if chief else Path(tempfile.mkdtemp(prefix="gan-worker-checkpoints-"))
    store = CheckpointStore(checkpoints, models.checkpoint_state(), fixed, recipe.checkpoints.keep)
    started = begin(plan, store, per_epoch, total, echo, chief)
    if isinstance(started, dict):
        return started
    step, metric_rows, seconds_before, loop_state = started
    if plan.resume and step > 0:
        fixed = store.fixed_latents.numpy()

    echo = echo if chief else _silent
    stepper = GanStepper(recipe, models, data, per_epoch, fixed, echo, progress)
    loop = EpochLoop(recipe, run, store, stepper, per_epoch, total, echo, progress, chief)
    return loop.go(step, metric_rows, seconds_before, loop_state)


def _silent(line: str) -> None:
    """A non-chief worker's echo: its lines would repeat the chief's."""


class GanStepper:
    """The steps of a GAN family and what the epoch loop shows of them (a
    :class:`~gan_cli.training.epoch_loop.Stepper`): real batches and noise made on tf.data's threads, the
    health monitor, FD at epoch ends, grids of a fixed latent batch."""

    columns = METRIC_COLUMNS
    fake_score_label = "D(G(z))"

    def __init__(self, recipe: Recipe, models: GanFamily, data: ImageSet, per_epoch: int, fixed: np.ndarray,
                 echo: Callable[[str], None], progress: bool | None) -> None:
        self.recipe, self.models, self.per_epoch = recipe, models, per_epoch
        self.steps_per_call = recipe.train.steps_per_call
        # variables, so the tf.data pipeline captures them by reference rather than copying the data set
        self.images = tf.Variable(data.images, trainable=False, name="training_images")
        self.labels = tf.Variable(data.labels, trainable=False, name="training_labels") \
            if data.labels is not None else None
        #: one row per class in the sample grids of a conditional GAN
        classes = models.num_classes or (models.info.categorical if models.info is not None else 1)
        self.fixed_labels = (np.arange(len(fixed)) // recipe.sampling.grid[1]) % classes \
            if models.conditional or models.info is not None else None
        self.data_description = data.description
        self.num_images = len(data.images)
        self.fixed = fixed
        reference = data.images[np.random.default_rng(recipe.seed).permutation(len(data.images))[: len(fixed)]]
        self.health = HealthMonitor(recipe.health, models.real_target, diversity(reference),
                                    scores_are_probabilities=models.objective.probabilities)
        self.evaluation = EpochEvaluation(recipe.data, recipe.eval.against, recipe.eval.n, recipe.seed, echo,
                                          progress)

    def epoch_steps(self, epoch: int, first: int, last: int, step: int
                    ) -> Callable[[int, int, int], list[dict[str, float]]]:
        """Steps of ``epoch`` fed from a prefetching :meth:`_batches` pipeline of its indices ``first`` to ``last``."""
        strategy = self.models.strategy
        order = batch_indices(self.recipe.train, self.recipe.seed, epoch, self.num_images, self.per_epoch,
                              distribute.replicas(strategy))
        batches = self._batches(order, first, last, step)

        def run_steps(index: int, count: int, step: int) -> list[dict[str, float]]:
            arguments = []
            for _ in range(count):
                inputs = next(batches)
                if strategy is not None:
                    inputs = distribute.split(strategy, inputs)
                arguments.append(self._train_step_arguments(inputs))
            results = self.models.train_steps(arguments)
            for values in results:
                self.health.observe_step(values["d_real"], values["d_fake"])
            return results

        return run_steps

    def inspect(self, row: dict[str, Any], evaluate_now: bool) -> dict[str, Any]:
        """Sample diversity, optional evaluation, and the health monitor's symptoms for one row."""
        finite = math.isfinite(row["d_loss"]) and math.isfinite(row["g_loss"])
        extra: dict[str, Any] = {}
        if finite:
            fixed_images = generate(self.models.generator, self.fixed, self.fixed_labels)
            extra["diversity"] = diversity(to_unit_range(fixed_images))
        if finite and evaluate_now:
            extra.update(self._evaluate())
        symptoms = self.health.end_epoch((row["d_loss"], row["g_loss"]), extra.get("diversity", 0.0),
                                         int(row["step"]), extra.get("label_kl"))
        if not finite:
            symptoms = [s for s in symptoms if not s.startswith("mode collapse: sample")]
        extra["health"] = "; ".join(symptoms)
        return extra

    def _evaluate(self) -> dict[str, Any]:
        """FD, label KL and classes covered of ``eval.n`` samples (a fixed latent batch) against real data."""
        latents = latent_batch(self.recipe.eval.n, self.models.latent_dim, self.recipe.seed + 1)
        fake = to_unit_range(generate(self.models.sampler, latents))  # balanced labels if conditional
        result = self.evaluation.measure(fake)
        values: dict[str, Any] = {"fd": result["fd"]}
        if "labels" in result:
            values["label_kl"] = result["labels"]["kl_real_fake"]
            values["classes_covered"] = result["labels"]["classes_covered"]
        return values

    def _batches(self, order: np.ndarray, first: int, last: int, step: int) -> Any:
        """A ``tf.data`` pipeline of the epoch's steps ``first`` to ``last`` (global steps from ``step``), each
        element every input of one step (:meth:`_step_inputs`, tuples: tf.data would stack lists), made on
        tf.data's threads and prefetched while the previous step trains."""
        steps = tf.range(step, step + last - first, dtype=tf.int64)
        dataset = tf.data.Dataset.from_tensor_slices((order[first:last], steps))
        return iter(dataset.map(self._step_inputs, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                    .prefetch(tf.data.AUTOTUNE))

    def _step_inputs(self, indices: tf.Tensor, step: tf.Tensor) -> dict[str, Any]:
        """Real batches, noise, penalty seeds and labels of one step: pure functions of (seed, step).

        The k-th D update of step s draws its noise from stateless seed [seed, s·(d+1) + k] and G's from
        [seed, s·(d+1) + d]; with d = 1 that is [seed, 2s] and [seed, 2s + 1]. Penalty weights, labels and
        codes use the same numbers offset by PENALTY_STREAM, LABEL_STREAM and CODE_STREAM.
        """
        d_steps, batch = int(indices.shape[0]), int(indices.shape[1])
        latent_dim = self.models.latent_dim
        base = step * (d_steps + 1)

        def seed(offset: Any) -> tf.Tensor:
            return tf.stack([tf.constant(self.recipe.seed, tf.int64), tf.cast(offset, tf.int64)])

        inputs: dict[str, Any] = {
            "reals": tuple(tf.gather(self.images, indices[k]) for k in range(d_steps)),
            "noises": tuple(tf.random.stateless_normal((batch, latent_dim), seed=seed(base + k))
                            for k in range(d_steps)),
            "noise_g": tf.random.stateless_normal((batch, latent_dim), seed=seed(base + d_steps)),
            "penalty": tuple(seed(PENALTY_STREAM + base + k) for k in range(d_steps)),
        }
        if self.models.info is not None:
            info = self.models.info

            def codes(k: int) -> tuple[tf.Tensor, tf.Tensor]:
                drawn = tf.random.stateless_uniform((batch,), seed=seed(LABEL_STREAM + base + k), minval=0,
                                                    maxval=info.categorical, dtype=tf.int32)
                continuous = tf.random.stateless_uniform((batch, info.continuous), seed=seed(CODE_STREAM + base + k),
                                                         minval=-1.0, maxval=1.0)
                return tf.one_hot(drawn, info.categorical), continuous

            inputs["fake_labels"] = tuple(codes(k) for k in range(d_steps + 1))
        elif self.models.conditional:
            classes = self.models.num_classes

            def random_labels(k: int) -> tf.Tensor:
                drawn = tf.random.stateless_uniform((batch,), seed=seed(LABEL_STREAM + base + k), minval=0,
                                                    maxval=classes, dtype=tf.int32)
                return tf.one_hot(drawn, classes)

            assert self.labels is not None
            inputs["real_labels"] = tuple(tf.one_hot(tf.gather(self.labels, indices[k]), classes)
                                          for k in range(d_steps))
            inputs["fake_labels"] = tuple(random_labels(k) for k in range(d_steps + 1))
        return inputs

    def _train_step_arguments(self, inputs: dict[str, Any]) -> tuple[Any, ...]:
        """``GanModels.train_step``'s arguments from one element of :meth:`_batches`."""
        fakes = inputs.get("fake_labels")
        labels = None
        if fakes is not None:
            reals = inputs.get("real_labels", [None] * (len(fakes) - 1))
            labels = (list(reals), list(fakes[:-1]), fakes[-1])
        return (list(inputs["reals"]), list(inputs["noises"]), inputs["noise_g"],
                list(inputs["penalty"]) if self.models.penalized else None, labels)

    def grid(self) -> np.ndarray:
        """The fixed latents' images in ``sampling.grid`` (one row per class for cgan and InfoGAN)."""
        sampling = self.recipe.sampling
        rows, cols = sampling.grid
        pictures = generate(self.models.sampler, self.fixed, self.fixed_labels)
        return imgs.make_grid(pictures, rows, cols, invert=sampling.invert,
                              upscale=sampling.upscale or imgs.auto_upscale(pictures.shape[1]))

    @property
    def sampler(self) -> keras.Model:
        return self.models.sampler

    def export(self, run: RunDir) -> None:
        """``generator.keras``: the generator samples come from (G's average with ``train.ema``, which also keeps
        G's own weights as ``generator_raw.keras``)."""
        save_portable(self.models.sampler, run.generator)
        if self.models.ema_generator is not None:
            save_portable(self.models.generator, run.raw_generator)

    def state(self) -> dict[str, Any]:
        return {"health": self.health.state()}

    def load_state(self, state: dict[str, Any]) -> None:
        if "health" in state:
            self.health.load_state(state["health"])

    def results(self, last: dict[str, Any]) -> dict[str, Any]:
        return {
            "final": {k: last[k] for k in ("d_loss", "g_loss", "d_real", "d_fake") if k in last},
            "data": self.data_description,
            "generator_params": self.models.generator.count_params(),
            "discriminator_params": self.models.discriminator.count_params(),
            "jit_compile": self.models.jit_compile,
        }



