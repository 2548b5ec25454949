"""Evaluators and ``gan eval``: accuracy, caching, the sanity ordering of scores, the command, and
evaluation plus health warnings during training."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import TINY_RECIPE
from scipy.ndimage import gaussian_filter

from gan_cli.cli import cli
from gan_cli.errors import GanError
from gan_cli.evaluation.evaluator import Evaluator, load_or_build_evaluator
from gan_cli.evaluation.health import HealthMonitor
from gan_cli.evaluation.report import measure, real_images
from gan_cli.recipe import DataSpec, HealthSpec

DIGITS = DataSpec(source="digits")


@pytest.fixture(scope="module")
def digits_evaluator() -> Evaluator:
    return load_or_build_evaluator(DIGITS, echo=lambda _: None, progress=False)


def invoke(*args: object) -> tuple[int, str]:
    """Exit code and stdout (the result; status notes go to stderr), or everything when it failed."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout if result.exit_code == 0 else result.output


def test_digits_evaluator_is_accurate_and_cached(digits_evaluator: Evaluator) -> None:
    assert digits_evaluator.kind == "classifier"
    assert digits_evaluator.info["test_accuracy"] >= 0.97
    assert digits_evaluator.model.get_layer("features").units == 128
    again = load_or_build_evaluator(DIGITS, echo=lambda line: pytest.fail(f"rebuilt: {line}"))
    assert again.sha256 == digits_evaluator.sha256
    floor = digits_evaluator.floor(10000, 450)
    assert (floor["n_stand_in"], floor["n_reference"]) == (1347, 450) and 0 < floor["fd"] < 20
    assert digits_evaluator.floor(450, 450)["fd"] > floor["fd"]  # fewer samples, more bias
    against_train = digits_evaluator.floor(10000, 1347, "train")
    assert (against_train["n_stand_in"], against_train["n_reference"]) == (450, 1347)


def test_scores_order_noise_worse_than_blur_worse_than_real(digits_evaluator: Evaluator) -> None:
    real = real_images(DIGITS, "test", 450, 0)
    train = real_images(DIGITS, "train", 450, 0)
    blurred = gaussian_filter(train, sigma=(0, 0.5, 0.5, 0))
    noise = np.random.default_rng(0).uniform(-1, 1, train.shape).astype(np.float32)
    scores = {name: measure(images, real, digits_evaluator, full=True)
              for name, images in (("real", train), ("blurred", blurred), ("noise", noise))}
    assert scores["real"]["fd"] < scores["blurred"]["fd"] < scores["noise"]["fd"]
    assert scores["noise"]["fd"] > 5 * scores["real"]["fd"]
    assert scores["real"]["labels"]["classes_covered"] == 10
    assert 1.0 <= scores["noise"]["classifier_score"]["mean"] <= 10.0
    assert scores["real"]["classifier_score"]["mean"] > scores["noise"]["classifier_score"]["mean"]
    assert scores["real"]["kid"]["mean"] < scores["noise"]["kid"]["mean"]


def test_damaged_cached_evaluator_is_refused(digits_evaluator: Evaluator, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Path(os.environ["GAN_CACHE_DIR"])
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
    copy = tmp_path / digits_evaluator.directory.relative_to(cache)
    shutil.copytree(digits_evaluator.directory, copy)
    (copy / "evaluator.keras").write_bytes(b"garbage")
    with pytest.raises(GanError, match="damaged"):
        load_or_build_evaluator(DIGITS)


def test_unlabelled_data_gets_an_autoencoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "cache"))
    images = (np.random.default_rng(0).random((300, 8, 8, 1)) * 255).astype(np.uint8)
    np.savez(tmp_path / "u.npz", x_train=images)
    spec = DataSpec(source="npz", path=str(tmp_path / "u.npz"))
    evaluator = load_or_build_evaluator(spec, echo=lambda _: None, progress=False)
    assert evaluator.kind == "autoencoder" and "test_mse" in evaluator.info
    result = measure(images[:50].astype(np.float32) / 127.5 - 1, images[50:100].astype(np.float32) / 127.5 - 1,
                     evaluator, full=False)
    assert "fd" in result and "labels" not in result


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, digits_evaluator: Evaluator) -> Path:
    recipe = tmp_path_factory.mktemp("recipe") / "tiny.yaml"
    recipe.write_text(TINY_RECIPE + "eval: {every: 1, n: 200}\n")
    run = tmp_path_factory.mktemp("runs") / "run"
    result = CliRunner().invoke(cli, ["train", str(recipe), "--out", str(run)])
    assert result.exit_code == 0, result.output
    return run


def test_training_evaluates_and_keeps_the_best_checkpoint(trained_run: Path) -> None:
    with (trained_run / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert all(float(r["fd"]) > 0 and r["classes_covered"] and r["diversity"] for r in rows)
    assert (trained_run / "best" / "generator.keras").is_file()
    assert list((trained_run / "best").glob("ckpt*.index"))
    summary = json.loads((trained_run / "summary.json").read_text())
    best_row = min(rows, key=lambda r: float(r["fd"]))
    assert summary["best"]["fd"] == pytest.approx(float(best_row["fd"]))
    info = json.loads((trained_run / "best" / "generator.json").read_text())
    assert info["step"] == int(best_row["step"]) and info["n"] == 200 and info["against"] == "test"
    code, output = invoke("eval", trained_run / "best", "--n", "200", "--json")
    assert code == 0, output
    assert json.loads(output)["checkpoint"]["step"] == info["step"]


def test_gan_eval_writes_eval_json_with_its_protocol(trained_run: Path) -> None:
    code, output = invoke("eval", trained_run, "--n", "300")
    assert code == 0, output
    assert "FD " in output and "floor" in output and "classes covered" in output
    result = json.loads((trained_run / "eval.json").read_text())
    for key in ("n_fake", "n_real", "split", "seed", "evaluator_sha256", "floor", "tool", "checkpoint", "metrics"):
        assert key in result, key
    assert (result["n_fake"], result["n_real"], result["split"]) == (300, 300, "test")
    assert result["checkpoint"]["step"] == 16  # from generator.json beside generator.keras
    assert result["evaluator"]["test_accuracy"] >= 0.97
    for key in ("fd", "fd_logits", "kid", "classifier_score", "labels", "prdc"):
        assert key in result["metrics"], key
    code, output = invoke("eval", trained_run, "--n", "300", "--json")
    assert code == 0 and json.loads(output)["metrics"]["fd"] == pytest.approx(result["metrics"]["fd"])


def test_eval_is_deterministic_for_a_seed(trained_run: Path, tmp_path: Path) -> None:
    first = invoke("eval", trained_run / "generator.keras", "--source", "digits", "--n", "100", "--json")
    second = invoke("eval", trained_run / "generator.keras", "--source", "digits", "--n", "100", "--json")
    assert first[0] == 0, first[1]
    assert json.loads(first[1])["metrics"]["fd"] == json.loads(second[1])["metrics"]["fd"]


def test_eval_samples_from_anywhere(tmp_path: Path, digits_evaluator: Evaluator) -> None:
    real = ((real_images(DIGITS, "train", 200, 0) + 1) * 127.5).round().astype(np.uint8)
    np.savez(tmp_path / "s.npz", x=real)
    code, output = invoke("eval", "--samples", tmp_path / "s.npz", "--source", "digits", "--n", "200")
    assert code == 0, output
    np.savez(tmp_path / "bad.npz", x=real.astype(np.float32))
    code, output = invoke("eval", "--samples", tmp_path / "bad.npz", "--source", "digits")
    assert code != 0 and "uint8" in output
    np.savez(tmp_path / "shape.npz", x=np.zeros((20, 28, 28, 1), np.uint8))
    code, output = invoke("eval", "--samples", tmp_path / "shape.npz", "--source", "digits")
    assert code != 0 and "expects (8, 8, 1)" in output


def test_compare_refuses_different_protocols(trained_run: Path, tmp_path: Path) -> None:
    code, output = invoke("eval", trained_run, "--n", "300", "--json")
    (tmp_path / "a.json").write_text(output)
    code, output = invoke("eval", trained_run, "--n", "200", "--json")
    (tmp_path / "b.json").write_text(output)
    code, output = invoke("eval", "--compare", tmp_path / "a.json", tmp_path / "b.json")
    assert code != 0 and "n_fake differs" in output
    code, output = invoke("eval", "--compare", tmp_path / "a.json", tmp_path / "a.json")
    assert code == 0 and "FD" in output and "protocol" in output


def test_a_collapsed_generator_is_flagged(tiny_recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_cli.families import gan

    original = gan.build_generator

    def ignores_its_input(spec, image_shape):  # type: ignore[no-untyped-def]
        generator = original(spec, image_shape)
        z = keras.Input((spec.latent_dim,))
        return keras.Model(z, generator(keras.layers.Lambda(lambda t: t * 0.0)(z)), name="generator")

    monkeypatch.setattr(gan, "build_generator", ignores_its_input)
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", str(tiny_recipe), "--out", str(run), "--set", "train.epochs=1",
                                      "--set", "checkpoints.every_epochs=5", "--set", "health.warmup_steps=0"])
    assert "warning: epoch 1: mode collapse: sample diversity 0.000" in result.output, result.output
    with (run / "metrics.csv").open() as handle:
        assert "mode collapse" in next(csv.DictReader(handle))["health"]


def test_health_monitor_flags_saturation_and_label_drift() -> None:
    monitor = HealthMonitor(HealthSpec(saturation_steps=3, warmup_steps=0), real_target=0.9, real_diversity=5.0)
    for _ in range(4):
        monitor.observe_step(0.89, 0.01)
    symptoms = monitor.end_epoch((0.1, 5.0), diversity=4.0, step=4, label_kl=0.9)
    assert any("discriminator saturated" in s and "4 consecutive" in s for s in symptoms)
    assert any("label histogram" in s for s in symptoms)
    monitor.observe_step(0.5, 0.4)
    assert monitor.end_epoch((0.6, 0.8), diversity=4.0, step=5, label_kl=0.01) == []
    assert monitor.end_epoch((float("nan"), 0.8), diversity=4.0, step=6) == ["non-finite losses"]


def test_low_diversity_is_expected_at_the_start_but_not_after_a_fall() -> None:
    monitor = HealthMonitor(HealthSpec(warmup_steps=100), real_target=0.9, real_diversity=5.0)
    assert monitor.end_epoch((0.6, 0.8), diversity=0.5, step=10) == []  # a fresh generator
    assert monitor.end_epoch((0.6, 0.8), diversity=4.0, step=20) == []
    assert "mode collapse" in monitor.end_epoch((0.6, 0.8), diversity=0.5, step=30)[0]  # fell: flagged early
    late = HealthMonitor(HealthSpec(warmup_steps=100), real_target=0.9, real_diversity=5.0)
    assert "mode collapse" in late.end_epoch((0.6, 0.8), diversity=0.5, step=100)[0]


def test_against_train_reports_a_matching_floor(trained_run: Path) -> None:
    code, output = invoke("eval", trained_run, "--n", "300", "--against", "train", "--json")
    assert code == 0, output
    result = json.loads(output)
    assert result["split"] == "train" and result["floor"]["against"] == "train"
    assert result["floor"]["n_reference"] == result["n_real"] == 300


def test_source_without_test_split_holds_out_part_of_train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_cli.data import load_images

    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "cache"))
    digits = load_images(DataSpec(source="digits"))
    assert digits.labels is not None
    images = ((digits.images[:600] + 1) * 127.5).round().astype(np.uint8)
    np.savez(tmp_path / "d.npz", x=images, y=digits.labels[:600])  # keys x/y: no test split of its own
    spec = DataSpec(source="npz", path=str(tmp_path / "d.npz"))
    evaluator = load_or_build_evaluator(spec, echo=lambda _: None, progress=False)
    assert (evaluator.info["train_images"], evaluator.info["test_images"]) == (540, 60)
    assert evaluator.info["test_accuracy"] > 0.9
    np.savez(tmp_path / "s.npz", x=images[:50])
    code, output = invoke("eval", "--samples", tmp_path / "s.npz", "--source", "npz", "--data-path",
                          tmp_path / "d.npz", "--n", "50")
    assert code == 0, output
    assert "50 fake vs 50 real (test split)" in output


def test_changed_data_behind_the_same_path_gets_a_new_evaluator(tmp_path: Path) -> None:
    from gan_cli.evaluation.evaluator import evaluator_directory

    np.savez(tmp_path / "d.npz", x=np.zeros((20, 8, 8, 1), np.uint8))
    spec = DataSpec(source="npz", path=str(tmp_path / "d.npz"))
    before = evaluator_directory(spec, {"v": 1})
    np.savez(tmp_path / "d.npz", x=np.ones((21, 8, 8, 1), np.uint8))
    assert evaluator_directory(spec, {"v": 1}) != before


def test_too_few_samples_and_bad_results_are_clear_errors(tmp_path: Path, digits_evaluator: Evaluator) -> None:
    np.savez(tmp_path / "few.npz", x=np.zeros((3, 8, 8, 1), np.uint8))
    code, output = invoke("eval", "--samples", tmp_path / "few.npz", "--source", "digits")
    assert code != 0 and "at least 10" in output and "Traceback" not in output
    (tmp_path / "bad.json").write_text("{}")
    code, output = invoke("eval", "--compare", tmp_path / "bad.json", tmp_path / "bad.json")
    assert code != 0 and "not a gan eval result" in output
