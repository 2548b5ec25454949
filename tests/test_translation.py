"""pix2pix, pix2pixHD options and CycleGAN: data, networks, losses, pool, schedule, and the CLI end to end."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from conftest import TINY_PIX2PIX, assert_same_checkpoint, checkpoint_tensors
from PIL import Image

from gan_cli.cli import cli
from gan_cli.data.pairs import load_pairs
from gan_cli.data.tasks import edges, lowres, thicken
from gan_cli.errors import DataError, RecipeError
from gan_cli.families import TRANSLATORS
from gan_cli.families.image_pool import ImagePool
from gan_cli.families.optimizers import LinearDecay
from gan_cli.nets import build_patch_discriminator, build_translator
from gan_cli.recipe.loading import load_recipe, parse_recipe
from gan_cli.recipe.schema import TRANSLATION_FAMILIES, DataSpec, FamilyName
from gan_cli.runs.run_dir import read_metrics

REPO = Path(__file__).resolve().parents[1]

#: pix2pix on 8x8 digits (edges -> digit): U-Net with 3 halvings, PatchGAN with 8x8 -> 2x2 patches.
PIX2PIX = TINY_PIX2PIX

#: CycleGAN on 8x8 digits (thin <-> thick), unpaired halves.
CYCLEGAN = """\
# tiny CycleGAN for tests
family: cyclegan
seed: 2
data: {source: digits, task: thicken, limit: 64}
generator: {architecture: resnet, widths: [8, 16], res_blocks: 1, norm: instance}
discriminator: {architecture: patchgan, widths: [8, 16], kernel_size: 4, norm: instance, output_activation: linear,
                dropout: 0}
loss: {name: least_squares, label_smoothing: 0}
train: {epochs: 2, batch_size: 8, batch_selection: shuffle}
translation: {pool_size: 4}
sampling: {grid: [4, 3], every_epochs: 1}
"""


def write(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def invoke(*args: object) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def fails(*args: object) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code != 0 and result.exception is not None
    assert "Traceback" not in result.output
    return result.output


# -------------------------------------------------------------------------------------------------- data


def test_tasks_make_edges_low_resolution_and_thicker_strokes() -> None:
    images = np.zeros((2, 16, 16, 1), np.uint8)
    images[:, 4:12, 7:9] = 255  # a vertical bar
    edge_map = edges(images)
    assert set(np.unique(edge_map)) <= {0, 255}
    assert edge_map[0, 8, 6:10, 0].max() == 255 and edge_map[0, 0, 0, 0] == 0  # edges beside the bar only
    small = lowres(images)
    assert small.shape == images.shape and not np.array_equal(small, images)
    thick = thicken(images)
    assert thick[0, 8, 6, 0] == 255 and thick[0, 8, 5, 0] == 0  # one pixel wider on each side
    assert (thick >= images).all()


def test_paired_task_pairs_every_input_with_its_truth() -> None:
    pairs = load_pairs(DataSpec(source="digits", task="thicken", limit=20), paired=True)
    assert pairs.paired and pairs.a.shape == pairs.b.shape == (20, 8, 8, 1)
    np.testing.assert_array_equal(pairs.a_truth, pairs.b)
    assert pairs.a.min() >= -1 and pairs.b.max() <= 1 and (pairs.b >= pairs.a).all()


def test_unpaired_task_uses_disjoint_halves_and_keeps_the_truth() -> None:
    spec = DataSpec(source="digits", task="thicken", limit=20)
    pairs = load_pairs(spec, paired=False)
    paired = load_pairs(spec, paired=True)
    assert not pairs.paired and len(pairs.a) == len(pairs.b) == 10
    np.testing.assert_array_equal(pairs.a, paired.a[:10])  # A from the first half
    np.testing.assert_array_equal(pairs.b, paired.b[10:])  # B from the second half only
    np.testing.assert_array_equal(pairs.a_truth, paired.b[:10])
    np.testing.assert_array_equal(pairs.b_truth, paired.a[10:])
    swapped = load_pairs(DataSpec(source="digits", task="thicken", limit=20, direction="b2a"), paired=False)
    np.testing.assert_array_equal(swapped.a, pairs.b)


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_paired_folder_side_by_side_and_a_b_folders(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    left, right = rng.integers(0, 255, (3, 8, 8, 3), dtype=np.uint8), rng.integers(0, 255, (3, 8, 8, 3), dtype=np.uint8)
    for i in range(3):
        _save(tmp_path / "sbs" / "train" / f"{i}.png", np.concatenate([left[i], right[i]], axis=1))
        _save(tmp_path / "ab" / "A" / f"{i}.png", left[i])
        _save(tmp_path / "ab" / "B" / f"{i}.png", right[i])
    side = load_pairs(DataSpec(source="paired_folder", path=str(tmp_path / "sbs")), paired=True)
    folders = load_pairs(DataSpec(source="paired_folder", path=str(tmp_path / "ab")), paired=True)
    for pairs in (side, folders):
        np.testing.assert_allclose((pairs.a + 1) * 127.5, left, atol=1e-3)
        np.testing.assert_allclose((pairs.b + 1) * 127.5, right, atol=1e-3)
        np.testing.assert_array_equal(pairs.a_truth, pairs.b)
    flipped = load_pairs(DataSpec(source="paired_folder", path=str(tmp_path / "sbs"), direction="b2a"), paired=True)
    np.testing.assert_array_equal(flipped.a, side.b)
    with pytest.raises(DataError, match="test/"):
        load_pairs(DataSpec(source="paired_folder", path=str(tmp_path / "sbs"), split="test"), paired=True)


def test_paired_folder_problems_are_one_line_errors(tmp_path: Path) -> None:
    _save(tmp_path / "odd" / "x.png", np.zeros((4, 9), np.uint8))
    with pytest.raises(DataError, match="odd"):
        load_pairs(DataSpec(source="paired_folder", path=str(tmp_path / "odd")), paired=True)
    _save(tmp_path / "ab" / "A" / "1.png", np.zeros((4, 4), np.uint8))
    _save(tmp_path / "ab" / "B" / "2.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(DataError, match="only one of A/ and B/"):
        load_pairs(DataSpec(source="paired_folder", path=str(tmp_path / "ab")), paired=True)


def test_unpaired_folder_reads_train_a_and_b(tmp_path: Path) -> None:
    for i in range(3):
        _save(tmp_path / "trainA" / f"{i}.png", np.full((8, 8), 10 * i, np.uint8))
    for i in range(5):
        _save(tmp_path / "trainB" / f"{i}.jpg", np.full((8, 8, 3), 200, np.uint8))
    pairs = load_pairs(DataSpec(source="unpaired_folder", path=str(tmp_path)), paired=False)
    assert pairs.a.shape == (3, 8, 8, 1) and pairs.b.shape == (5, 8, 8, 3) and pairs.a_truth is None
    with pytest.raises(DataError, match="testA"):
        load_pairs(DataSpec(source="unpaired_folder", path=str(tmp_path), split="test"), paired=False)


# -------------------------------------------------------------------------------------------------- recipes


@pytest.mark.parametrize(("changes", "key"), [
    ({"generator": {"architecture": "mlp"}}, "generator.architecture"),
    ({"discriminator": {"architecture": "dcgan"}}, "discriminator.architecture"),
    ({"data": {"source": "digits"}}, "data"),
    ({"data": {"source": "unpaired_folder", "path": "x"}}, "data.source"),
    ({"train": {"d_steps": 2}}, "train.d_steps"),
])
def test_translation_recipes_are_checked_as_a_whole(changes: dict, key: str) -> None:
    raw = {"family": "pix2pix", "data": {"source": "digits", "task": "edges"},
           "generator": {"architecture": "unet"}, "discriminator": {"architecture": "patchgan"}}
    for section, values in changes.items():
        raw[section] = values if section == "data" else {**raw.get(section, {}), **values}
    with pytest.raises(RecipeError, match=key.replace(".", r"\.")):
        parse_recipe(raw)


def test_gan_families_refuse_translation_pieces() -> None:
    with pytest.raises(RecipeError, match="data.task"):
        parse_recipe({"data": {"source": "digits", "task": "edges"}})
    with pytest.raises(RecipeError, match="pix2pix or cyclegan"):
        parse_recipe({"generator": {"architecture": "unet"}})


@pytest.mark.parametrize("family", [f for f in FamilyName.__args__  # type: ignore[attr-defined]
                                    if f not in TRANSLATION_FAMILIES])
@pytest.mark.parametrize("key, value", [("crop_size", [6, 6]), ("flip", True), ("direction", "b2a")],
                         ids=["crop_size", "flip", "direction"])
def test_gan_families_refuse_the_data_keys_only_translation_reads(family: str, key: str, value: object) -> None:
    """Only the image-to-image loop crops, flips and swaps; every other family refuses these keys in one line
    rather than train without them."""
    with pytest.raises(RecipeError) as refused:
        parse_recipe({"family": family, "data": {"source": "digits", key: value}})
    message = str(refused.value)
    assert f"data.{key}: used only by the translation families (pix2pix, cyclegan)" in message, message
    assert f"family {family} would ignore it" in message and "\n" not in message
    parse_recipe({"family": family, "data": {"source": "digits", key: getattr(DataSpec(), key)}})  # the default
    translation = {"family": "pix2pix", "data": {"source": "digits", "task": "edges", key: value},
                   "generator": {"architecture": "unet"}, "discriminator": {"architecture": "patchgan"}}
    assert getattr(parse_recipe(translation).data, key) == (tuple(value) if isinstance(value, list) else value)


# -------------------------------------------------------------------------------------------------- models


def _models(tmp_path: Path, text: str) -> tuple[Any, Any, Any]:
    recipe = load_recipe(write(tmp_path, text))
    pairs = load_pairs(recipe.data, paired=recipe.family == "pix2pix")
    return recipe, TRANSLATORS[recipe.family](recipe, pairs.shape_a, pairs.shape_b, 100), pairs


def _snapshot(model: object) -> list[np.ndarray]:
    return [np.array(v) for v in model.variables]  # type: ignore[attr-defined]


def _changed(before: list[np.ndarray], model: object) -> bool:
    return any(not np.array_equal(b, np.array(v)) for b, v in zip(before, model.variables))  # type: ignore[attr-defined]


def test_pix2pix_updates_change_only_their_own_network_and_weigh_l1(tmp_path: Path) -> None:
    recipe, models, pairs = _models(tmp_path, PIX2PIX)
    a, b = tf.constant(pairs.a[:16]), tf.constant(pairs.b[:16])
    g_before, d_before = _snapshot(models.generator), _snapshot(models.critic.model)
    models.critic.update([a, b], [a, models.generator(a)])
    assert _changed(d_before, models.critic.model) and not _changed(g_before, models.generator)
    g_before, d_before = _snapshot(models.generator), _snapshot(models.critic.model)
    models.critic.model.trainable = False
    models.combined.train_on_batch(a, [tf.zeros((16, *models.critic.model.outputs[0].shape[1:])), b])
    models.critic.model.trainable = True
    assert _changed(g_before, models.generator) and not _changed(d_before, models.critic.model)
    values = models.train_step(a, b, tf.constant([0, 0], tf.int64))
    # G's loss is adversarial x 1 + L1 x 100, as the recipe says
    assert values["g_loss"] == pytest.approx(values["g_adv"] + 100 * values["l1"], rel=1e-4)


def test_pix2pixhd_options_add_scales_and_feature_matching(tmp_path: Path) -> None:
    text = PIX2PIX.replace("dropout: 0}", "dropout: 0, scales: 2}") + "translation: {feature_matching_weight: 10}\n"
    recipe, models, pairs = _models(tmp_path, text)
    assert [tuple(o.shape[1:]) for o in models.critic.model.outputs] == [(4, 4, 1), (2, 2, 1)]
    values = models.train_step(tf.constant(pairs.a[:16]), tf.constant(pairs.b[:16]), tf.constant([0, 0], tf.int64))
    assert values["fm"] > 0
    # per feature map the weight is 10 / (2 layers x 2 scales): the total is the mean feature distance x 10
    assert values["g_loss"] == pytest.approx(values["g_adv"] + 100 * values["l1"] + 10 / 4 * values["fm"], rel=1e-4)


def test_cyclegan_weights_cycle_and_identity_and_updates_in_isolation(tmp_path: Path) -> None:
    recipe, models, pairs = _models(tmp_path, CYCLEGAN)
    a, b = tf.constant(pairs.a[:8]), tf.constant(pairs.b[:8])
    values = models.train_step(a, b, tf.constant([0, 0], tf.int64))
    assert values["g_loss"] == pytest.approx(values["g_adv"] + 10 * values["cycle"] + 5 * values["identity"], rel=1e-4)
    before = {m.name: _snapshot(m) for m in (models.generator, models.inverse, *models.discriminators)}
    models.critic_b.update([b], [models.generator(a)])
    assert _changed(before["discriminator_b"], models.critic_b.model)
    for name in ("generator", "inverse", "discriminator_a"):
        model = {m.name: m for m in (models.generator, models.inverse, *models.discriminators)}[name]
        assert not _changed(before[name], model), name


def test_image_pool_fills_then_swaps_half_the_time_deterministically() -> None:
    pool = ImagePool(4, (1, 1, 1), "test")
    first = tf.reshape(tf.range(4, dtype=tf.float32), (4, 1, 1, 1))
    np.testing.assert_array_equal(pool.query(first, tf.constant([0, 0], tf.int64)), first)  # filling: returned as is
    assert int(pool.count.numpy()) == 4
    new = tf.reshape(tf.range(100, 164, dtype=tf.float32), (64, 1, 1, 1))
    out = pool.query(new, tf.constant([0, 1], tf.int64)).numpy().ravel()
    swapped = out != new.numpy().ravel()
    assert 0.3 < swapped.mean() < 0.7  # about half come from the history
    assert set(out[swapped]) <= set(range(4)) | set(range(100, 164))
    twin = ImagePool(4, (1, 1, 1), "twin")
    twin.query(first, tf.constant([0, 0], tf.int64))
    np.testing.assert_array_equal(twin.query(new, tf.constant([0, 1], tf.int64)).numpy().ravel(), out)
    off = ImagePool(0, (1, 1, 1), "off")
    assert off.query(new, tf.constant([0, 2], tf.int64)) is new


def test_linear_decay_is_constant_then_falls_to_zero() -> None:
    schedule = LinearDecay(2e-4, 50, 100)
    rates = [float(schedule(step)) for step in (0, 49, 50, 75, 100, 120)]
    assert rates == pytest.approx([2e-4, 2e-4, 2e-4, 1e-4, 0.0, 0.0])


# -------------------------------------------------------------------------------------------------- CLI


def test_pix2pix_trains_samples_translates_and_evaluates_through_the_cli(tmp_path: Path) -> None:
    run = tmp_path / "run"
    output = invoke("train", write(tmp_path, PIX2PIX), "--out", run)
    assert "done: 8 steps" in output and "val L1" in output
    rows = read_metrics(run / "metrics.csv")
    assert {"l1", "g_adv", "val_l1"} <= rows[-1].keys()
    assert (run / "generator.keras").is_file() and (run / "samples" / "epoch_0002.png").is_file()
    invoke("sample", run, "--out", tmp_path / "examples.png")
    grid = np.asarray(Image.open(tmp_path / "examples.png"))
    assert grid.shape[1] > 2.5 * grid.shape[0] / 8  # three columns: input | output | target
    inputs = tmp_path / "inputs"
    for i in range(2):
        _save(inputs / f"in_{i}.png", np.zeros((20, 20), np.uint8))  # another size: resized to the model's
    invoke("sample", run, "--input", inputs, "--out", f"{tmp_path}/out/")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["in_0.png", "in_1.png"]
    assert np.asarray(Image.open(tmp_path / "out" / "in_0.png")).shape == (8, 8)
    assert "only CycleGAN" in fails("sample", run, "--direction", "b2a", "--out", tmp_path / "x.png")
    assert "--label: for GAN runs" in fails("sample", run, "--n", "4", "--out", tmp_path / "y.npz", "--label", "1")
    report = invoke("eval", run, "--n", "100", "--no-progress")
    assert "copy input" in report and "PSNR" in report
    assert (run / "eval.json").is_file()


def test_cyclegan_trains_both_directions_and_resumes_exactly(tmp_path: Path) -> None:
    recipe = write(tmp_path, CYCLEGAN)
    invoke("train", recipe, "--out", tmp_path / "straight")
    invoke("train", recipe, "--out", tmp_path / "resumed", "--set", "train.steps=5")  # stops mid-epoch
    invoke("train", tmp_path / "resumed", "--resume", "--set", "train.steps=null")
    assert (tmp_path / "straight" / "generator_b2a.keras").is_file()
    assert any("pools" in k for k in checkpoint_tensors(tmp_path / "straight"))
    assert_same_checkpoint(tmp_path / "straight", tmp_path / "resumed")
    invoke("sample", tmp_path / "straight", "--direction", "b2a", "--n", "3", "--out", tmp_path / "b2a.npz")
    assert np.load(tmp_path / "b2a.npz")["x"].shape == (3, 8, 8, 1)


def test_pix2pix_with_crops_and_flips_resumes_exactly(tmp_path: Path) -> None:
    text = PIX2PIX.replace("limit: 64}", "limit: 64, image_size: [10, 10], crop_size: [8, 8], flip: true}")
    recipe = write(tmp_path, text)
    invoke("train", recipe, "--out", tmp_path / "straight")
    invoke("train", recipe, "--out", tmp_path / "resumed", "--set", "train.steps=5")  # stops mid-epoch
    invoke("train", tmp_path / "resumed", "--resume", "--set", "train.steps=null")
    assert_same_checkpoint(tmp_path / "straight", tmp_path / "resumed")


def test_translation_dry_run_describes_networks_and_losses(tmp_path: Path) -> None:
    output = invoke("train", write(tmp_path, CYCLEGAN), "--dry-run")
    assert "generator a2b" in output and "generator b2a" in output and "cycle x 10" in output
    assert "4 steps per epoch, 8 steps in all; learning rates decay linearly from step 4" in output


def test_pix2pixhd_options_train_through_the_cli(tmp_path: Path) -> None:
    output = invoke("train", write(tmp_path, PIX2PIX), "--out", tmp_path / "run", "--set", "train.steps=2",
                    "--set", "discriminator.scales=2", "--set", "translation.feature_matching_weight=10")
    assert "done: 2 steps" in output and " fm " in output
    assert read_metrics(tmp_path / "run" / "metrics.csv")[-1]["fm"] > 0


def test_translation_networks_have_the_documented_shapes() -> None:
    recipe = parse_recipe({"family": "pix2pix", "data": {"source": "digits", "task": "edges"},
                           "generator": {"architecture": "unet", "widths": [8, 16, 32, 32], "kernel_size": 4},
                           "discriminator": {"architecture": "patchgan", "widths": [8, 16, 32], "kernel_size": 4,
                                             "scales": 3}})
    unet = build_translator(recipe.generator, (16, 16, 1), 3)
    assert unet.output_shape == (None, 16, 16, 3)
    assert sum(isinstance(layer, keras.layers.Concatenate) for layer in unet.layers) == 3  # a skip per stage
    resnet = build_translator(replace(recipe.generator, architecture="resnet", widths=(8, 16), res_blocks=2),
                              (16, 16, 3), 1)
    assert resnet.output_shape == (None, 16, 16, 1)
    assert sum(isinstance(layer, keras.layers.Add) for layer in resnet.layers) == 2
    patch = build_patch_discriminator(recipe.discriminator, (16, 16, 3), (16, 16, 1))
    assert [tuple(o.shape[1:]) for o in patch.scores.outputs] == [(4, 4, 1), (2, 2, 1), (1, 1, 1)]
    assert len(patch.features.outputs) == 9  # three blocks at each of three scales
    with pytest.raises(RecipeError, match="divisible by 16"):
        build_translator(recipe.generator, (24, 24, 1), 1)
