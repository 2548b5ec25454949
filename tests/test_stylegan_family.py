"""StyleGAN-mini inside the tutorial's wiring: each update changes only its own model, D's fakes carry the noise
and style mixing of training mode, the average w is tracked after every step, and sampling uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from conftest import assert_same_checkpoint

from gan_cli.cli import cli
from gan_cli.errors import RecipeError
from gan_cli.families import FAMILIES
from gan_cli.nets import stylegan
from gan_cli.recipe.loading import parse_recipe

REPO = Path(__file__).resolve().parents[1]
SHAPE = (8, 8, 1)
STYLEGAN = {"generator": {"architecture": "stylegan", "latent_dim": 8, "widths": [16, 8], "mapping_layers": 2},
            "discriminator": {"architecture": "stylegan", "widths": [8, 16], "output_activation": "linear",
                              "dropout": 0.0, "minibatch_group": 4},
            "loss": {"name": "bce", "label_smoothing": 0.0, "r1": 0.1}}


def build(data: dict[str, Any]) -> Any:
    keras.utils.set_random_seed(0)
    return FAMILIES["gan"](parse_recipe(data), SHAPE)


def weights(model: keras.Model) -> list[np.ndarray]:
    return [np.array(v) for v in model.weights]


def changed(before: list[np.ndarray], model: keras.Model) -> bool:
    return any(not np.array_equal(a, np.array(b)) for a, b in zip(before, model.weights))


@pytest.fixture(scope="module")
def models() -> Any:
    return build(STYLEGAN)


def test_each_update_changes_only_its_own_model_and_g_s_tracks_the_average_w(models: Any) -> None:
    rng = np.random.default_rng(1)
    real = tf.constant(rng.uniform(-1, 1, (8, *SHAPE)).astype("float32"))
    noise = tf.constant(rng.standard_normal((8, 8)).astype("float32"))
    models.train_step([real], [noise], noise)  # trace both, as training does
    w_avg = models.generator.get_layer(stylegan.W_AVG).kernel
    g_before, d_before, average = weights(models.generator), weights(models.discriminator), np.array(w_avg)
    models.update_discriminator(real, noise)
    assert changed(d_before, models.discriminator) and not changed(g_before, models.generator)
    g_before, d_before = weights(models.generator), weights(models.discriminator)
    models.update_generator(noise)
    assert changed(g_before, models.generator) and not changed(d_before, models.discriminator)
    assert not np.array_equal(np.array(w_avg), average)  # update_w_avg ran after G's update


def test_d_sees_fakes_with_training_noise_and_mixing(models: Any) -> None:
    noise = tf.constant(np.random.default_rng(2).standard_normal((8, 8)).astype("float32"))
    assert not np.array_equal(models.fake_images(noise), models.fake_images(noise))  # random in training mode
    plain = build({"generator": {"latent_dim": 8, "widths": [16]}, "discriminator": {"widths": [16]}})
    np.testing.assert_array_equal(plain.fake_images(noise), plain.fake_images(noise))


def train(*args: object) -> None:
    result = CliRunner().invoke(cli, ["train", *map(str, args)])
    assert result.exit_code == 0, result.output


def test_stylegan_recipe_resumes_exactly_then_samples_mixes_and_truncates(tmp_path: Path) -> None:
    recipe, run = REPO / "recipes" / "stylegan_digits.yaml", tmp_path / "run"
    train(recipe, "--out", tmp_path / "straight", "--set", "train.steps=6")
    train(recipe, "--out", run, "--set", "train.steps=3")
    train(run, "--resume", "--set", "train.steps=6")
    assert_same_checkpoint(tmp_path / "straight", run)  # w_avg, EMA and the noise layers' random state included
    for args in (["--mix", "3", "--out", str(tmp_path / "mix.npz")],
                 ["--truncation", "0", "--n", "8", "--out", str(tmp_path / "flat.npz")]):
        result = CliRunner().invoke(cli, ["sample", str(run), *args])
        assert result.exit_code == 0, result.output
    mixed = np.load(tmp_path / "mix.npz")["x"].reshape(3, 3, -1)
    assert not np.array_equal(mixed[0, 1], mixed[0, 0])  # other fine styles, other image
    flat = np.load(tmp_path / "flat.npz")["x"]
    assert (flat == flat[0]).all()  # ψ = 0: every image is the average w's
    result = CliRunner().invoke(cli, ["sample", str(REPO / "recipes"), "--mix", "3"])
    assert result.exit_code != 0


@pytest.mark.parametrize("change, key", [
    ({"family": "cgan"}, "generator.architecture"),
    ({"train": {"batch_size": 30}}, "train.batch_size"),
])
def test_stylegan_recipes_that_cannot_work_are_refused(change: dict[str, Any], key: str) -> None:
    with pytest.raises(RecipeError, match=key.replace(".", r"\.")):
        parse_recipe({**STYLEGAN, **change})
