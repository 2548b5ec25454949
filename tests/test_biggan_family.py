"""BigGAN-mini and the projection discriminator inside the tutorial's wiring: each update still changes only its
own model, the label reaches G and D only where it should, and G's orthogonal penalty is part of G's loss."""

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
from gan_cli.recipe.loading import parse_recipe

REPO = Path(__file__).resolve().parents[1]
SHAPE = (8, 8, 1)
BIGGAN = {"family": "cgan", "generator": {"architecture": "biggan", "latent_dim": 9, "widths": [16, 8],
                                          "spectral_norm": True},
          "discriminator": {"architecture": "biggan", "widths": [8, 16], "spectral_norm": True,
                            "output_activation": "linear", "dropout": 0.0},
          "loss": {"name": "hinge"}, "condition": {"embedding_dim": 8}}
PROJECTION = {"family": "cgan", "generator": {"latent_dim": 4, "widths": [16]},
              "discriminator": {"widths": [16], "output_activation": "linear", "dropout": 0.0},
              "condition": {"discriminator": "projection"}, "loss": {"name": "hinge"}}


def train(*args: object) -> None:
    result = CliRunner().invoke(cli, ["train", *map(str, args)])
    assert result.exit_code == 0, result.output


def build(data: dict[str, Any]) -> Any:
    keras.utils.set_random_seed(0)
    return FAMILIES["cgan"](parse_recipe(data), SHAPE, 10)


def weights(model: keras.Model) -> list[np.ndarray]:
    return [np.array(v) for v in model.weights]


def changed(before: list[np.ndarray], model: keras.Model) -> bool:
    return any(not np.array_equal(a, np.array(b)) for a, b in zip(before, model.weights))


def inputs(models: Any, size: int = 8) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    rng = np.random.default_rng(1)
    real = tf.constant(rng.uniform(-1, 1, (size, *SHAPE)).astype("float32"))
    noise = tf.constant(rng.standard_normal((size, models.latent_dim)).astype("float32"))
    return real, noise, tf.one_hot(tf.range(size) % 10, 10)


@pytest.mark.parametrize("data", [BIGGAN, PROJECTION], ids=["biggan", "projection"])
def test_each_update_changes_only_its_own_model(data: dict[str, Any]) -> None:
    models = build(data)
    real, noise, labels = inputs(models)
    models.train_step([real], [noise], noise, None, ([labels], [labels], labels))  # trace both, as training does
    g_before, d_before = weights(models.generator), weights(models.discriminator)
    models.update_discriminator(real, noise, None, labels, labels)
    assert changed(d_before, models.discriminator) and not changed(g_before, models.generator)
    g_before, d_before = weights(models.generator), weights(models.discriminator)
    models.update_generator(noise, labels)
    assert changed(g_before, models.generator) and not changed(d_before, models.discriminator)


def test_biggan_generator_takes_the_label_and_each_block_its_own_z_chunk() -> None:
    models = build(BIGGAN)
    generator = models.generator
    _, noise, labels = inputs(models)
    twos = tf.one_hot(tf.fill((8,), 2), 10)
    assert not np.allclose(generator([noise, labels], training=False), generator([noise, twos], training=False))
    names = [layer.name for layer in generator.layers]
    assert {"z_chunk_0", "z_chunk_1", "z_chunk_2"} <= set(names)  # one chunk for the start, one per block


def test_projection_is_the_only_way_the_label_reaches_d() -> None:
    models = build(PROJECTION)
    real, _, labels = inputs(models)
    twos = tf.one_hot(tf.fill((8,), 2), 10)
    embedding = models.discriminator.get_layer("label_embedding")
    embedding.kernel.assign(tf.random.stateless_normal(embedding.kernel.shape, seed=[0, 1]))
    scores = models.discriminator([real, labels], training=False)
    assert not np.allclose(scores, models.discriminator([real, twos], training=False))
    embedding.kernel.assign(tf.zeros(embedding.kernel.shape))
    np.testing.assert_array_equal(models.discriminator([real, labels], training=False),
                                  models.discriminator([real, twos], training=False))


def test_orthogonal_penalty_is_part_of_g_s_loss_only() -> None:
    models = build({**BIGGAN, "generator": {**BIGGAN["generator"], "orthogonal": 0.01}})
    assert models.combined.losses and float(sum(models.combined.losses)) > 0
    plain = build(BIGGAN)
    assert not plain.combined.losses
    models.discriminator.trainable = True
    assert not models.discriminator.losses


def test_biggan_recipe_resumes_exactly_and_samples_per_class_and_truncated(tmp_path: Path) -> None:
    recipe, run = REPO / "recipes" / "biggan_digits.yaml", tmp_path / "run"
    train(recipe, "--out", tmp_path / "straight", "--set", "train.steps=4")
    train(recipe, "--out", run, "--set", "train.steps=2")
    train(run, "--resume", "--set", "train.steps=4")
    assert_same_checkpoint(tmp_path / "straight", run)  # EMA, spectral-norm vectors, BN statistics included
    for args in (["--per-class", "2"], ["--truncation", "0", "--n", "8", "--label", "3"]):
        result = CliRunner().invoke(cli, ["sample", str(run), *args, "--out", str(tmp_path / f"{args[0]}.npz")])
        assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "--per-class.npz")["x"].shape == (20, 8, 8, 1)
    flat = np.load(tmp_path / "--truncation.npz")["x"]
    assert (flat == flat[0]).all()  # ψ = 0 and one class: one image


@pytest.mark.parametrize("change, key", [
    ({"discriminator": {**BIGGAN["discriminator"], "output_activation": "sigmoid"}}, "discriminator.output_activation"),
    ({"family": "gan", "condition": {"discriminator": "projection"}}, "condition.discriminator"),
    ({"generator": {"architecture": "dcgan", "orthogonal": 0.01}}, "generator.orthogonal"),
])
def test_biggan_recipes_that_cannot_work_are_refused(change: dict[str, Any], key: str) -> None:
    with pytest.raises(RecipeError, match=key.replace(".", r"\.")):
        parse_recipe({**BIGGAN, **change})
