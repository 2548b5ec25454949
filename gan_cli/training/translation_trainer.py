"""Training the image-to-image families (pix2pix, CycleGAN): their steps (:class:`TranslationStepper`) inside
the shared :class:`~gan_cli.training.epoch_loop.EpochLoop`.

Like the GAN families', every random choice is a pure function of the recipe's seed and the step: batch
indices per epoch as :mod:`gan_cli.training.schedule` draws them (for unpaired data A's and B's
indices are drawn one after the other), crops and flips from stateless seeds ``[seed, AUGMENT_STREAM +
2·step (+1 for B)]``, the history pools' draws from ``[seed, step]``; G's dropout state and the pools'
contents are checkpointed with the weights. So a resumed run continues exactly where a straight run
would have been.

An epoch is ``max(N_A, N_B) // batch_size`` steps (CycleGAN's definition; for pairs N_A = N_B).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gan_cli.data import outline_images
from gan_cli.data.pairs import ImagePairs, load_pairs
from gan_cli.device import precision
from gan_cli.errors import DataError
from gan_cli.evaluation.translation import target_spec
from gan_cli.families import TRANSLATORS
from gan_cli.families.interface import TranslationFamily
from gan_cli.recipe.schema import Recipe
from gan_cli.runs import images as imgs
from gan_cli.runs.checkpoints import CheckpointStore
from gan_cli.runs.export import save_portable
from gan_cli.runs.run_dir import TRANSLATION_COLUMNS, RunDir
from gan_cli.sampling import example_pairs, translate_images
from gan_cli.training.epoch_eval import EpochEvaluation
from gan_cli.training.epoch_loop import EpochLoop, StepFunction, begin
from gan_cli.training.plan import TrainingPlan
from gan_cli.training.schedule import epoch_indices, epoch_rng, set_up, steps_per_epoch, total_steps

#: Offset that keeps the augmentation seeds apart from the pools' seeds.
AUGMENT_STREAM = 2**40


@dataclasses.dataclass(frozen=True)
class _UnreadPairs:
    """A task's two domains as a data set's definition gives them, for ``--dry-run`` without the files."""

    description: str
    shape_a: tuple[int, int, int]
    shape_b: tuple[int, int, int]
    count_a: int
    count_b: int


def model_shapes(recipe: Recipe, pairs: ImagePairs | _UnreadPairs
                 ) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The networks' (H, W, C) for A and B: the images' size, or ``data.crop_size`` when training on crops.

    Raises:
        DataError: the crop is larger than the images.
    """
    shape_a, shape_b = pairs.shape_a, pairs.shape_b
    crop = recipe.data.crop_size
    if crop is None:
        return shape_a, shape_b
    if crop[0] > shape_a[0] or crop[1] > shape_a[1]:
        raise DataError(f"data.crop_size: {crop[0]}x{crop[1]} is larger than the images ({shape_a[0]}x{shape_a[1]}); "
                        "lower it or raise data.image_size")
    return (crop[0], crop[1], shape_a[2]), (crop[0], crop[1], shape_b[2])


def _prepare(recipe: Recipe) -> tuple[ImagePairs, TranslationFamily, int, int]:
    """Seed, load the pairs, build the family's models: (pairs, models, steps per epoch, total steps).

    Raises:
        DataError, RecipeError: the data or networks do not fit the recipe.
    """
    set_up(recipe)
    pairs = load_pairs(recipe.data, paired=recipe.family == "pix2pix")
    return (pairs, *_build(recipe, pairs, len(pairs.a), len(pairs.b)))


def _build(recipe: Recipe, pairs: ImagePairs | _UnreadPairs, count_a: int, count_b: int
           ) -> tuple[TranslationFamily, int, int]:
    """The family's models for ``pairs``' shapes: (models, steps per epoch, total steps).

    Raises:
        DataError, RecipeError: the data or networks do not fit the recipe.
    """
    steps_per_epoch(min(count_a, count_b), recipe.train.batch_size, f"{count_a} A and {count_b} B images")
    per_epoch = steps_per_epoch(max(count_a, count_b), recipe.train.batch_size)
    planned, total = total_steps(recipe, per_epoch)
    shape_a, shape_b = model_shapes(recipe, pairs)
    # the learning-rate schedule follows train.epochs only, so a train.steps cap (a smoke test, or a run
    # stopped early and resumed) does not change it
    models = TRANSLATORS[recipe.family](recipe, shape_a, shape_b, planned)
    return models, per_epoch, total


def describe(recipe: Recipe) -> list[str]:
    """Lines for ``--dry-run``: the data, each network's parameter count, the losses and the schedule.

    As :func:`gan_cli.training.trainer.describe`, nothing is downloaded: a task made from a data set of fixed shape that
    cannot be read here gets networks built for its defined shape and a last line saying what was not found.
    """
    spec = recipe.data
    outline = outline_images(spec) if spec.task is not None else None
    if outline is None:
        return _describe_built(recipe, *_prepare(recipe))
    set_up(recipe)
    paired, count, missing = recipe.family == "pix2pix", outline.count, outline.missing
    if missing is None:  # a local copy: read it (it may differ from the definition), or say why it cannot be
        try:
            loaded = load_pairs(spec, paired=paired)
        except DataError as exc:
            missing = str(exc)
        else:
            return _describe_built(recipe, loaded, *_build(recipe, loaded, len(loaded.a), len(loaded.b)))
    count_a, count_b = (count, count) if paired else (count // 2, count - count // 2)  # disjoint halves
    size = "x".join(str(d) for d in outline.image_shape)
    made = f"{count} pairs" if paired else f"unpaired halves, {count_a} A and {count_b} B images"
    pairs = _UnreadPairs(f"{spec.source}: {spec.task} task, {spec.split} split, {made} {size} (from the data set's "
                         "definition; its files were not read)", outline.image_shape, outline.image_shape,
                         count_a, count_b)
    return [*_describe_built(recipe, pairs, *_build(recipe, pairs, count_a, count_b)), f"data not read: {missing}"]


def _describe_built(recipe: Recipe, pairs: ImagePairs | _UnreadPairs, models: TranslationFamily, per_epoch: int,
                    total: int) -> list[str]:
    """:func:`describe`'s lines for data and models already built."""
    spec = recipe.translation
    lines = [f"data: {pairs.description}"]
    for direction, generator in models.generators.items():
        lines.append(f"generator {direction}: {generator.count_params():,} parameters, "
                     f"{tuple(generator.inputs[0].shape[1:])} -> {tuple(generator.outputs[0].shape[1:])}")
    for critic in models.discriminators:
        patches = ", ".join("x".join(str(d) for d in out.shape[1:3]) for out in critic.outputs)
        lines.append(f"{critic.name}: {critic.count_params():,} parameters, patch scores {patches}")
    if recipe.family == "pix2pix":
        terms = f"adversarial x {spec.adversarial_weight:g} + L1 x {spec.l1_weight:g}"
        if spec.feature_matching_weight > 0:
            terms += f" + feature matching x {spec.feature_matching_weight:g}"
    else:
        terms = (f"adversarial x {spec.adversarial_weight:g} (each direction) + cycle x {spec.cycle_weight:g} + "
                 f"identity x {spec.cycle_weight * spec.identity_weight:g}; pool of {spec.pool_size}")
    lines.append(f"generator loss: {terms}")
    start = round(spec.decay_from * recipe.train.epochs * per_epoch)
    decay = "" if spec.decay_from >= 1 else f"; learning rates decay linearly from step {start}"
    lines.append(f"schedule: {per_epoch} steps per epoch, {total} steps in all{decay}")
    lines.append(precision.describe(recipe.train.precision))
    return lines


def train(plan: TrainingPlan, echo: Callable[[str], None] = print, progress: bool | None = None,
          verbose: bool = False) -> dict[str, Any]:
    """:func:`gan_cli.training.trainer.train` for a pix2pix/CycleGAN recipe: same arguments, result and errors."""
    recipe, run = plan.recipe, plan.run
    pairs, models, per_epoch, total = _prepare(recipe)
    for line in _describe_built(recipe, pairs, models, per_epoch, total) if verbose else [f"data: {pairs.description}"]:
        echo(line)
    examples = _grid_examples(recipe)
    store = CheckpointStore(run.checkpoints, models.checkpoint_state(), examples[0][0], recipe.checkpoints.keep)
    started = begin(plan, store, per_epoch, total, echo)
    if isinstance(started, dict):
        return started
    stepper = TranslationStepper(recipe, models, pairs, per_epoch, examples, echo, progress)
    return EpochLoop(recipe, run, store, stepper, per_epoch, total, echo, progress).go(*started)


def _grid_examples(recipe: Recipe) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The fixed (inputs, truths) shown in the sample grids: ``sampling.grid`` rows of test examples
    (training examples without a test split); CycleGAN splits the rows between a2b and b2a."""
    rows = recipe.sampling.grid[0]
    directions = ["a2b"] if recipe.family == "pix2pix" else ["a2b", "b2a"]
    count = max(1, rows // len(directions))
    examples = []
    for direction in directions:
        try:
            examples.append(example_pairs(recipe, direction, count, recipe.seed, "test"))
        except DataError:
            examples.append(example_pairs(recipe, direction, count, recipe.seed, "train"))
    return examples


class TranslationStepper:
    """The steps of pix2pix or CycleGAN and what the epoch loop shows of them (a
    :class:`~gan_cli.training.epoch_loop.Stepper`): A and B batches (cropped and flipped as the recipe asks),
    validation L1 and FD at epoch ends, grids of fixed test examples."""

    columns = TRANSLATION_COLUMNS
    fake_score_label = "D(G(x))"
    steps_per_call = 1  # train.steps_per_call is for the GAN families

    def __init__(self, recipe: Recipe, models: TranslationFamily, pairs: ImagePairs, per_epoch: int,
                 examples: list[tuple[np.ndarray, np.ndarray | None]], echo: Callable[[str], None],
                 progress: bool | None) -> None:
        self.recipe, self.models, self.per_epoch = recipe, models, per_epoch
        self.a, self.b = tf.constant(pairs.a), tf.constant(pairs.b)
        self.paired = pairs.paired
        self.description = pairs.description
        self.examples = examples
        crop, flip = recipe.data.crop_size, recipe.data.flip
        self.augment = _augmenter((crop[0], crop[1]) if crop else None, flip) if crop or flip else None
        target = target_spec(recipe.data, "a2b")
        if recipe.data.crop_size:
            target = dataclasses.replace(target, image_size=recipe.data.crop_size)
        reference = "train" if recipe.eval.against == "test" else "test"  # as gan eval: disjoint from the truths
        self.evaluation = EpochEvaluation(target, reference, recipe.eval.n, recipe.seed, echo, progress)
        self.eval_inputs: np.ndarray | None = None

    def epoch_steps(self, epoch: int, first: int, last: int, step: int) -> StepFunction:
        """One step at a time, on the epoch's A and B indices (the same indices for pairs)."""
        spec = self.recipe.train
        rng = epoch_rng(self.recipe.seed, epoch)
        order_a = epoch_indices(rng, len(self.a), self.per_epoch, spec.batch_size, spec.batch_selection)
        order_b = order_a if self.paired else epoch_indices(rng, len(self.b), self.per_epoch, spec.batch_size,
                                                            spec.batch_selection)

        def run_steps(index: int, count: int, step: int) -> list[dict[str, float]]:
            a, b = self._batch(order_a[index], order_b[index], step)  # count is 1 (steps_per_call)
            return [self.models.train_step(a, b, tf.constant([self.recipe.seed, step], tf.int64))]

        return run_steps

    def _batch(self, index_a: np.ndarray, index_b: np.ndarray, step: int) -> tuple[tf.Tensor, tf.Tensor]:
        """The step's A and B batches, cropped and flipped as the recipe asks (pairs together)."""
        a, b = tf.gather(self.a, index_a), tf.gather(self.b, index_b)
        if self.augment is None:
            return a, b
        seed = self.recipe.seed
        if self.paired:
            both = self.augment(tf.concat([a, b], axis=3), tf.constant([seed, AUGMENT_STREAM + 2 * step], tf.int64))
            return both[..., : a.shape[3]], both[..., a.shape[3]:]
        return (self.augment(a, tf.constant([seed, AUGMENT_STREAM + 2 * step], tf.int64)),
                self.augment(b, tf.constant([seed, AUGMENT_STREAM + 2 * step + 1], tf.int64)))

    def inspect(self, row: dict[str, Any], evaluate_now: bool) -> dict[str, Any]:
        """``val_l1``, the mean |G(A) - true B| of the grid's fixed a2b examples in [0, 1] pixel units, and
        ``fd`` when ``evaluate_now``; nothing after a non-finite loss."""
        if not (math.isfinite(row["d_loss"]) and math.isfinite(row["g_loss"])):
            return {}
        extra: dict[str, Any] = {}
        inputs, truths = self.examples[0]
        if truths is not None:
            outputs = translate_images(self.models.generator, inputs).astype(np.float32) / 255.0
            extra["val_l1"] = float(np.mean(np.abs(outputs - (truths + 1.0) / 2.0)))
        if evaluate_now:
            extra["fd"] = self._evaluate()
        return extra

    def _evaluate(self) -> float:
        """FD of G's outputs for ``eval.n`` inputs of the ``eval.against`` split to B images of the other split."""
        spec = self.recipe.eval
        if self.eval_inputs is None:
            self.eval_inputs = example_pairs(self.recipe, "a2b", spec.n, self.recipe.seed + 1, spec.against)[0]
        outputs = translate_images(self.models.generator, self.eval_inputs)
        return float(self.evaluation.measure((outputs.astype(np.float32) - 127.5) / 127.5)["fd"])

    def grid(self) -> np.ndarray:
        """Rows of (input, output, truth) of the fixed examples; without a truth, CycleGAN shows F(G(x))."""
        grids = []
        for (inputs, truths), (direction, generator) in zip(self.examples, self.models.generators.items()):
            outputs = translate_images(generator, inputs)
            third = truths if truths is not None else None
            columns = [imgs.to_uint8(inputs), outputs]
            if third is not None:
                columns.append(imgs.to_uint8(third))
            elif direction == "a2b" and "b2a" in self.models.generators:  # no truth: show the reconstruction
                columns.append(translate_images(self.models.generators["b2a"], outputs.astype(np.float32) / 127.5 - 1))
            grid = imgs.rows_of_columns(columns, upscale=imgs.auto_upscale(inputs.shape[1], min_cell=48))
            grids.append(grid)
        channels = max(g.shape[2] for g in grids)
        width = max(g.shape[1] for g in grids)
        padded = [np.pad(np.repeat(g, channels // g.shape[2], axis=2), ((0, 0), (0, width - g.shape[1]), (0, 0)))
                  for g in grids]
        return np.concatenate(padded, axis=0)

    @property
    def sampler(self) -> keras.Model:
        return self.models.generator

    def export(self, run: RunDir) -> None:
        """G as ``generator.keras``, and CycleGAN's F as ``generator_b2a.keras``."""
        if "b2a" in self.models.generators:
            save_portable(self.models.generators["b2a"], run.inverse_generator)
        save_portable(self.models.generator, run.generator)

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        """Nothing beyond the checkpointed variables (the pools' contents are among them)."""

    def results(self, last: dict[str, Any]) -> dict[str, Any]:
        return {
            "final": {k: last[k] for k in TRANSLATION_COLUMNS[3:14] if k in last},
            "val_l1": last.get("val_l1"),
            "data": self.description,
            "generator_params": {d: g.count_params() for d, g in self.models.generators.items()},
            "discriminator_params": {d.name: d.count_params() for d in self.models.discriminators},
        }


def _augmenter(crop: tuple[int, int] | None, flip: bool) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """A traced function (images, seed) -> each image randomly cropped to ``crop`` and/or flipped
    left-right, with its own stateless seed split from ``seed``."""

    def one(args: tuple[tf.Tensor, tf.Tensor]) -> tf.Tensor:
        image, seed = args
        if crop is not None:
            image = tf.image.stateless_random_crop(image, (crop[0], crop[1], image.shape[-1]), seed=seed)
        if flip:
            image = tf.image.stateless_random_flip_left_right(image, seed=seed + tf.constant([0, 1], seed.dtype))
        return image

    @tf.function
    def augment(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        seeds = tf.random.experimental.stateless_split(seed, int(images.shape[0]))
        height, width = crop if crop is not None else images.shape[1:3]
        return tf.map_fn(one, (images, seeds),
                         fn_output_signature=tf.TensorSpec((height, width, images.shape[-1]), images.dtype))

    return augment

