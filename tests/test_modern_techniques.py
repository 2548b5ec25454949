"""Generator EMA, DiffAugment/ADA, the R1 penalty and the truncation trick: each mechanism does what it says,
through the models and through the CLI, and nothing augmented or averaged leaks where it must not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from conftest import TINY_RECIPE, assert_same_checkpoint

from gan_cli.cli import cli
from gan_cli.errors import RecipeError
from gan_cli.families import FAMILIES
from gan_cli.families.augment import DiffAugment, cutout, translation
from gan_cli.recipe.loading import parse_recipe
from gan_cli.sampling import latent_batch

SHAPE = (8, 8, 1)
SMALL = {"generator": {"latent_dim": 4, "widths": [16]}, "discriminator": {"widths": [16], "dropout": 0.0}}

#: TINY_RECIPE with every new mechanism switched on (EMA, ADA reacting fast, R1)
MODERN = ["--set", "train.ema.decay=0.9", "--set", "loss.r1=0.5", "--set", "augment.policy=[translation, cutout]",
          "--set", "augment.ada=true", "--set", "augment.ada_interval=1", "--set", "augment.ada_images=64"]


def models_for(extra: dict[str, Any], family: str = "gan") -> Any:
    data = {"family": family, **SMALL}
    for section, values in extra.items():
        data[section] = {**data.get(section, {}), **values}
    keras.utils.set_random_seed(0)
    return FAMILIES[family](parse_recipe(data), SHAPE, 10)


def step_inputs(rng: np.random.Generator, batch: int = 8) -> tuple[list[tf.Tensor], list[tf.Tensor], tf.Tensor]:
    reals = [tf.constant(rng.uniform(-1, 1, (batch, *SHAPE)).astype("float32"))]
    noises = [tf.constant(rng.standard_normal((batch, 4)).astype("float32")) for _ in range(2)]
    return reals, noises[:1], noises[1]


def invoke(*args: object) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


# ------------------------------------------------------------------------------------------------------
# Generator EMA


def test_ema_follows_the_formula_and_copies_what_is_not_trained() -> None:
    models = models_for({"train": {"ema": {"decay": 0.75}}, "generator": {"batch_norm": True}})
    rng = np.random.default_rng(0)
    before = [np.array(v) for v in models.ema_generator.variables]
    models.train_step(*step_inputs(rng))
    trained = {id(v): v.trainable for v in models.generator.variables}
    for old, average, current in zip(before, models.ema_generator.variables, models.generator.variables):
        if trained[id(current)]:
            np.testing.assert_allclose(np.array(average), 0.75 * old + 0.25 * np.array(current), rtol=1e-6,
                                       atol=1e-7)
        else:  # BatchNorm statistics and random states: copied
            np.testing.assert_array_equal(np.array(average), np.array(current))
    assert any(not np.array_equal(np.array(a), np.array(c))
               for a, c in zip(models.ema_generator.weights, models.generator.weights))
    assert models.sampler is models.ema_generator


def test_ema_is_g_itself_before_its_start_step() -> None:
    models = models_for({"train": {"ema": {"decay": 0.9, "start_step": 5}}})
    rng = np.random.default_rng(1)
    for _ in range(3):
        models.train_step(*step_inputs(rng))
    for average, current in zip(models.ema_generator.variables, models.generator.variables):
        np.testing.assert_array_equal(np.array(average), np.array(current))


def test_without_ema_the_sampler_is_g() -> None:
    models = models_for({})
    assert models.ema_generator is None and models.sampler is models.generator
    assert "ema_generator" not in models.checkpoint_state()


# ------------------------------------------------------------------------------------------------------
# DiffAugment and ADA


def test_translation_moves_whole_pixels_and_fills_with_zero() -> None:
    images = tf.reshape(tf.range(1, 8 * 8 + 1, dtype=tf.float32), (1, 8, 8, 1))
    images = tf.repeat(images, 16, axis=0)
    moved = translation(images, tf.constant([3, 4])).numpy()[..., 0]
    source = images.numpy()[0, ..., 0]
    shifted = 0
    for picture in moved:
        kept = picture[picture != 0]
        assert set(kept.tolist()) <= set(source.ravel().tolist())  # only the image's own pixels, or 0
        rows, cols = np.nonzero(picture)
        dy, dx = np.argwhere(source == picture[rows[0], cols[0]])[0] - (rows[0], cols[0])
        assert abs(dy) <= 1 and abs(dx) <= 1  # at most 1/8 of 8 pixels
        shifted += (dy, dx) != (0, 0)
    assert shifted > 0


def test_cutout_zeros_one_square_of_half_the_side() -> None:
    holes = cutout(tf.ones((32, 8, 8, 1)), tf.constant([5, 6])).numpy()[..., 0]
    for picture in holes:
        rows, cols = np.nonzero(picture == 0)
        assert rows.max() - rows.min() < 4 and cols.max() - cols.min() < 4
        assert set(np.unique(picture)) <= {0.0, 1.0}
    assert (holes == 0).sum(axis=(1, 2)).max() == 16  # a whole 4x4 square where it lies inside the image


def test_augmentation_acts_only_while_training() -> None:
    layer = DiffAugment(["color", "translation", "cutout"], seed=0)
    images = tf.random.stateless_uniform((4, *SHAPE), seed=[1, 2], minval=-1, maxval=1)
    np.testing.assert_array_equal(layer(images, training=False), images)
    assert not np.array_equal(layer(images, training=True), images)


def test_reals_and_fakes_are_augmented_in_d_update_and_fakes_in_g_update(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, bool]] = []
    original = DiffAugment.call

    def spy(self: DiffAugment, images: Any, training: bool | None = None) -> Any:
        seen.append((int(images.shape[0]), bool(training)))
        return original(self, images, training=training)

    monkeypatch.setattr(DiffAugment, "call", spy)
    models = models_for({"augment": {"policy": ["translation"]}})
    seen.clear()
    models.unfused_step(*step_inputs(np.random.default_rng(2), batch=8))
    assert seen == [(16, True), (8, True)]  # D's update: 8 reals + 8 fakes; G's update: 8 fakes
    layers = {type(layer).__name__ for layer in models.generator._flatten_layers()}
    assert "DiffAugment" not in layers  # G (and so everything exported or sampled) never augments


def test_ada_probability_rises_when_d_calls_reals_real_and_falls_otherwise() -> None:
    layer = DiffAugment(["cutout"], adaptive=True, target=0.6, interval=2, step_size=0.25)
    probabilities = []
    for sign in (1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 0.6, 0.6):
        layer.observe(sign)
        probabilities.append(round(float(layer.probability), 6))
    assert probabilities == [0.0, 0.25, 0.25, 0.5, 0.5, 0.25, 0.25, 0.25]


def test_ada_p_rises_on_a_tiny_data_set_and_is_logged(tmp_path: Path) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(TINY_RECIPE)
    run = tmp_path / "run"
    output = invoke("train", recipe, "--out", run, "--no-progress", *MODERN, "--set", "data.limit=64",
                    "--set", "train.epochs=12", "--set", "train.batch_size=16", "--set", "discriminator.dropout=0",
                    "--set", "sampling.every_epochs=12", "--set", "checkpoints.every_epochs=12",
                    "--set", "logs.tensorboard=false", "--set", "logs.progress_gif=false")
    rows = [line.split(",") for line in (run / "metrics.csv").read_text().splitlines()]
    column = rows[0].index("augment_p")
    p = [float(row[column]) for row in rows[1:]]
    assert p[-1] > 0.2 and max(p) > p[0], p  # D memorises 64 images: ADA answers with more augmentation
    assert "ADA p" in output


# ------------------------------------------------------------------------------------------------------
# R1


def adversarial_and_r1(models: Any, real: tf.Tensor, fake: tf.Tensor, targets: tf.Tensor) -> tuple[float, float]:
    """D's bce loss on the reals then fakes, and mean ||∇D(x)||² on the reals, computed apart from the models."""
    with tf.GradientTape() as tape:
        tape.watch(real)
        scores = models.discriminator(real, training=True)
    gradients = tape.gradient(scores, real).numpy().reshape(int(real.shape[0]), -1)
    r1 = float(np.mean(np.sum(gradients**2, axis=1)))
    all_scores = models.discriminator(tf.concat([real, fake], 0), training=True)
    return float(keras.losses.BinaryCrossentropy()(targets, all_scores)), r1


def test_r1_is_half_gamma_times_the_squared_gradient_norm_on_reals() -> None:
    models = models_for({"loss": {"r1": 4.0, "label_smoothing": 0.0}})
    rng = np.random.default_rng(3)
    real = tf.constant(rng.uniform(-1, 1, (6, *SHAPE)).astype("float32"))
    fake = tf.constant(rng.uniform(-1, 1, (6, *SHAPE)).astype("float32"))
    inputs, targets = models._discriminator_data(real, fake, None, None, None)
    adversarial, r1 = adversarial_and_r1(models, real, fake, targets[0])
    loss = models.d_update.test_on_batch(inputs, targets, return_dict=True)["loss"]
    assert r1 > 0
    assert float(loss) == pytest.approx(adversarial + 2.0 * r1, rel=1e-5)


def test_r1_of_a_conditional_d_scores_each_real_image_with_its_own_label() -> None:
    models = models_for({"loss": {"r1": 4.0, "label_smoothing": 0.0}}, family="cgan")
    rng = np.random.default_rng(3)
    real = tf.constant(rng.uniform(-1, 1, (6, *SHAPE)).astype("float32"))
    fake = tf.constant(rng.uniform(-1, 1, (6, *SHAPE)).astype("float32"))
    real_labels, fake_labels = (tf.one_hot(rng.integers(0, 10, 6), 10) for _ in range(2))
    inputs, targets = models._discriminator_data(real, fake, None, real_labels, fake_labels)

    def r1_with(labels: tf.Tensor) -> float:
        with tf.GradientTape() as tape:
            tape.watch(real)
            scores = models.discriminator([real, labels], training=True)
        gradients = tape.gradient(scores, real).numpy().reshape(6, -1)
        return float(np.mean(np.sum(gradients**2, axis=1)))

    all_scores = models.discriminator([tf.concat([real, fake], 0), tf.concat([real_labels, fake_labels], 0)],
                                      training=True)
    adversarial = float(keras.losses.BinaryCrossentropy()(targets[0], all_scores))
    loss = float(models.d_update.test_on_batch(inputs, targets, return_dict=True)["loss"])
    r1, r1_fake_labels = r1_with(real_labels), r1_with(fake_labels)
    assert r1 > 0 and abs(r1 - r1_fake_labels) > 1e-3 * r1  # the label changes the gradient ...
    assert loss == pytest.approx(adversarial + 2.0 * r1, rel=1e-5)  # ... and R1 takes the real image's own


@pytest.mark.parametrize("fused", [True, False])
def test_lazy_r1_is_k_times_the_penalty_on_every_kth_d_update_and_zero_between(fused: bool) -> None:
    gamma, every = 4.0, 4
    models = models_for({"loss": {"r1": gamma, "r1_every": every, "label_smoothing": 0.0}})
    rng = np.random.default_rng(3)
    for update in range(every + 2):  # D updates 0 and 4 are penalized, 1, 2, 3 and 5 are not
        reals, noises, noise_g = step_inputs(rng)
        fake = models.fake_images(noises[0])
        inputs, targets = models._discriminator_data(reals[0], fake, None, None, None)
        adversarial, r1 = adversarial_and_r1(models, reals[0], fake, targets[0])
        norm = models.d_update(inputs, training=True)[1].numpy()  # reads the same D optimizer iterations
        step = models.train_step if fused else models.unfused_step
        loss = step(reals, noises, noise_g)["d_loss"]
        assert int(models.d_optimizer.iterations.numpy()) == update + 1
        if update % every == 0:
            assert r1 > 0
            assert loss == pytest.approx(adversarial + every * gamma / 2 * r1, rel=1e-5), update
        else:
            assert not norm.any(), update  # the R1 output is exactly 0 ...
            assert loss == pytest.approx(adversarial, rel=1e-6), update  # ... and so is its term


class CountingCritic(keras.layers.Layer):
    """sum(x²) per example, counting how often it runs (a variable, so runs inside a traced cond count)."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = self.add_weight(shape=(), initializer="zeros", trainable=False, name="runs")

    def call(self, images: Any) -> Any:
        self.runs.assign_add(1.0)
        return tf.reduce_sum(tf.reshape(tf.square(images), (tf.shape(images)[0], -1)), axis=1, keepdims=True)


def test_lazy_r1_skips_the_gradient_on_updates_without_the_penalty() -> None:
    from gan_cli.families.losses import GradientNorm

    critic, phase = CountingCritic(), tf.Variable(0, dtype="int64")
    layer = GradientNorm(critic, every=4, active=lambda: tf.equal(phase % 4, 0))
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (3, *SHAPE)).astype("float32"))
    expected = 2.0 * np.sqrt(np.sum(images.numpy().reshape(3, -1) ** 2, axis=1))  # ||∇ sum x²|| = 2||x||
    traced = tf.function(lambda x: layer(x, training=True))
    for call in (traced, lambda x: layer(x, training=True)):
        for value in range(5):
            phase.assign(value)
            runs = float(critic.runs.numpy())
            norm = call(images).numpy()[:, 0]
            if value % 4 == 0:
                assert float(critic.runs.numpy()) == runs + 1
                np.testing.assert_allclose(norm, 2.0 * expected, rtol=1e-5)  # √4 times the norm
            else:
                assert float(critic.runs.numpy()) == runs, value  # D not even run: no (double) backprop
                assert not norm.any()


@pytest.mark.parametrize("family", ["gan", "cgan"])
def test_lazy_r1_resumes_exactly(family: str, tiny_recipe: Path, tmp_path: Path) -> None:
    # 2 D updates per step, 4 steps per epoch: the run is cut after D update 8, inside a period of 3
    lazy = ["--no-progress", "--set", "loss.r1=1", "--set", "loss.r1_every=3", "--set", "train.d_steps=2",
            "--set", f"family={family}"]
    invoke("train", tiny_recipe, "--out", tmp_path / "straight", *lazy)
    invoke("train", tiny_recipe, "--out", tmp_path / "resumed", *lazy, "--set", "train.epochs=1")
    invoke("train", tmp_path / "resumed", "--resume", "--no-progress", "--set", "train.epochs=2")
    assert_same_checkpoint(tmp_path / "straight", tmp_path / "resumed")


def test_lazy_r1_without_r1_is_refused_in_one_line() -> None:
    with pytest.raises(RecipeError) as refused:
        parse_recipe({"loss": {"r1_every": 16}})
    message = str(refused.value)
    assert "loss.r1_every" in message and "loss.r1 " in message and "\n" not in message, message
    assert parse_recipe({"loss": {"r1": 10.0, "r1_every": 16}}).loss.r1_every == 16
    assert parse_recipe({"loss": {"r1_every": 1}}).loss.r1 == 0.0


# ------------------------------------------------------------------------------------------------------
# Truncation


def test_truncated_latents_are_bounded_and_psi_zero_is_the_mean() -> None:
    z = latent_batch(500, 16, seed=0, truncation=0.5)
    assert np.abs(z).max() <= 1.0 and z.std() > 0.2
    assert not np.any(latent_batch(10, 16, seed=0, truncation=0.0))
    np.testing.assert_array_equal(latent_batch(10, 4, seed=3, truncation=0.7), latent_batch(10, 4, 3, 0.7))


@pytest.fixture(scope="module")
def modern_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("modern")
    (folder / "tiny.yaml").write_text(TINY_RECIPE)
    invoke("train", folder / "tiny.yaml", "--out", folder / "run", "--no-progress", *MODERN)
    return folder / "run"


def test_exported_generator_is_the_average_and_raw_is_g(modern_run: Path, tmp_path: Path) -> None:
    assert (modern_run / "generator_raw.keras").is_file()
    for args in ([], ["--raw"], ["--truncation", "0"], ["--truncation", "1"]):
        invoke("sample", modern_run, "--n", "16", "--out", tmp_path / f"s{'_'.join(args)}.npz", *args)
    plain, raw = np.load(tmp_path / "s.npz")["x"], np.load(tmp_path / "s--raw.npz")["x"]
    assert not np.array_equal(plain, raw)
    flat = np.load(tmp_path / "s--truncation_0.npz")["x"]
    assert (flat == flat[0]).all()  # ψ = 0: every image from the mean latent
    assert np.unique(np.load(tmp_path / "s--truncation_1.npz")["x"].reshape(16, -1), axis=0).shape[0] > 1
    summary = json.loads((modern_run / "summary.json").read_text())
    assert summary["finished"]


def test_raw_without_ema_says_why(tiny_recipe: Path, tmp_path: Path) -> None:
    invoke("train", tiny_recipe, "--out", tmp_path / "run", "--set", "train.epochs=1")
    result = CliRunner().invoke(cli, ["sample", str(tmp_path / "run"), "--raw", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "trained without train.ema" in result.output, result.output


# ------------------------------------------------------------------------------------------------------
# Recipes that cannot work are refused with one line


@pytest.mark.parametrize("data, key", [
    ({"augment": {"ada": True}}, "augment.ada"),
    ({"loss": {"r1": 1.0, "gradient_penalty": 10.0}}, "loss.r1"),
    ({"family": "cgan", "loss": {"gradient_penalty": 10.0}}, "loss.gradient_penalty"),
    ({"family": "infogan", "loss": {"r1": 1.0}}, "loss.r1"),
    ({"family": "infogan", "augment": {"policy": ["cutout"]}}, "augment.policy"),
    ({"train": {"ema": {"decay": 0.99}, "distribute": "mirrored"}}, "train.ema.decay"),
    ({"family": "pix2pix", "data": {"source": "digits", "task": "edges"}, "generator": {"architecture": "unet"},
      "discriminator": {"architecture": "patchgan"}, "augment": {"policy": ["cutout"]}}, "augment.policy"),
])
def test_combinations_that_cannot_work_are_refused(data: dict[str, Any], key: str) -> None:
    with pytest.raises(RecipeError, match=key.replace(".", r"\.")):
        parse_recipe(data)
