"""Evaluators and ``gan eval``: accuracy, caching, the sanity ordering of scores, the command, and
evaluation plus health warnings during training."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
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
from gan_cli.evaluation.measure import measure, real_images
from gan_cli.recipe.schema import DataSpec, HealthSpec

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
    assert again.sha256 == digits_evaluator.sha256 and again.id == digits_evaluator.id
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
    with zipfile.ZipFile(trained_run / "best" / "generator.keras") as archive:  # portable, as every export
        assert "gan_cli" not in archive.read("config.json").decode()
    assert list((trained_run / "best").glob("ckpt*.index"))
    summary = json.loads((trained_run / "summary.json").read_text())
    best_row = min(rows, key=lambda r: float(r["fd"]))
    assert summary["best"]["fd"] == pytest.approx(float(best_row["fd"]))
    info = json.loads((trained_run / "best" / "generator.json").read_text())
    assert info["step"] == int(best_row["step"]) and info["n"] == 200 and info["against"] == "test"
    assert info["evaluator_id"] == load_or_build_evaluator(DIGITS).id
    code, output = invoke("eval", trained_run / "best", "--n", "200", "--json")
    assert code == 0, output
    assert json.loads(output)["checkpoint"]["step"] == info["step"]


def test_gan_eval_writes_eval_json_with_its_protocol(trained_run: Path) -> None:
    code, output = invoke("eval", trained_run, "--n", "300")
    assert code == 0, output
    assert "FD " in output and "floor" in output and "classes covered" in output
    result = json.loads((trained_run / "eval.json").read_text())
    for key in ("n_fake", "n_real", "split", "seed", "evaluator_id", "floor", "tool", "checkpoint", "metrics"):
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
    code, output = invoke("eval", "--samples", tmp_path / "s.npz", "--source", "digits", "--json")
    assert code == 0, output
    assert (json.loads(output)["n_fake"], json.loads(output)["n_real"]) == (200, 200)  # no --n: all of them
    code, output = invoke("eval", "--samples", tmp_path / "s.npz", "--source", "digits", "--n", "100", "--json")
    assert code == 0, output
    assert (json.loads(output)["n_fake"], json.loads(output)["n_real"]) == (100, 100)  # --n: the first 100
    code, output = invoke("eval", "--samples", tmp_path / "s.npz", "--source", "digits", "--n", "300")
    assert code != 0 and "holds 200 images, fewer than --n 300" in output and "Traceback" not in output
    np.savez(tmp_path / "bad.npz", x=real.astype(np.float32))
    code, output = invoke("eval", "--samples", tmp_path / "bad.npz", "--source", "digits")
    assert code != 0 and "uint8" in output
    np.savez(tmp_path / "shape.npz", x=np.zeros((20, 28, 28, 1), np.uint8))
    code, output = invoke("eval", "--samples", tmp_path / "shape.npz", "--source", "digits")
    assert code != 0 and "expects (8, 8, 1)" in output


def test_eval_with_truncation_is_kept_apart_with_its_protocol(trained_run: Path) -> None:
    main = trained_run / "eval.json"
    before = main.read_text() if main.is_file() else None
    code, output = invoke("eval", trained_run, "--n", "100", "--truncation", "0.5")
    assert code == 0 and "truncation psi 0.5" in output, output
    record = trained_run / "eval" / "eval-n100-seed0-test-psi0.5.json"
    assert json.loads(record.read_text())["truncation"] == 0.5
    assert (main.read_text() if main.is_file() else None) == before  # never the run's main result


@pytest.fixture(scope="module")
def saved_results(trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a.json (300 samples) and b.json (200) of the trained run's generator, measured on the
    generator file (so the run's own eval.json is left alone)."""
    folder = tmp_path_factory.mktemp("results")
    for name, n in (("a", 300), ("b", 200)):
        code, output = invoke("eval", trained_run / "generator.keras", "--source", "digits", "--n", n, "--json")
        assert code == 0, output
        (folder / f"{name}.json").write_text(output)
    return folder


def test_compare_says_what_differs_and_how_to_make_it_comparable(saved_results: Path, trained_run: Path,
                                                                 tmp_path: Path) -> None:
    a, b = saved_results / "a.json", saved_results / "b.json"
    code, output = invoke("eval", "--compare", a, b)
    assert code != 0 and "n_fake differs (a.json 300, b.json 200); n_real differs (a.json 300, b.json 200)" in output
    assert f"to compare them with 300 samples, run here: gan eval {trained_run} --n 300 --against test" in output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1
    # a run whose eval.json was measured otherwise, but whose eval/ folder has the reference protocol
    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("eval", "eval.json"))
    (run / "eval").mkdir()
    shutil.copy(a, run / "eval" / "eval-n300-seed0-test.json")
    shutil.copy(b, run / "eval.json")
    code, output = invoke("eval", "--compare", a, run)
    assert code != 0
    assert f"results measured alike are at hand: gan eval --compare {a} {run / 'eval' / 'eval-n300-seed0-test.json'}" \
           in output
    result = json.loads(a.read_text())
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**result, "evaluator_id": "0" * 64}))
    code, output = invoke("eval", "--compare", a, other)
    assert code != 0
    assert f"evaluator_id differs (a.json {result['evaluator_id'][:12]}, other.json 000000000000)" in output
    assert "their evaluators differ" in output and output.count("gan eval ") == 2  # both, by one evaluator
    mnist = tmp_path / "mnist.json"
    mnist.write_text(json.dumps({**result, "evaluator_id": "0" * 64,
                                 "evaluator": {**result["evaluator"], "source": "mnist"}}))
    code, output = invoke("eval", "--compare", a, mnist)
    assert code != 0 and "different data sets (digits, mnist)" in output


def test_results_recorded_before_evaluator_ids_still_load(saved_results: Path, tmp_path: Path) -> None:
    result = json.loads((saved_results / "a.json").read_text())
    del result["evaluator_id"]
    for name in ("old.json", "old2.json"):
        (tmp_path / name).write_text(json.dumps({**result, "evaluator_sha256": "ab" * 32}))
    code, output = invoke("eval", "--compare", tmp_path / "old.json", tmp_path / "old2.json")
    assert code == 0 and "evaluator file sha256 abababab" in output, output
    code, output = invoke("eval", "--compare", saved_results / "a.json", tmp_path / "old.json")
    assert code != 0 and "old.json was measured before evaluator ids" in output
    code, output = invoke("info", tmp_path / "old.json", "--json")
    assert code == 0 and json.loads(output)["result"]["evaluator_sha256"] == "ab" * 32


def test_compare_prints_json_and_steps_and_never_imports_tensorflow(saved_results: Path) -> None:
    a, same = saved_results / "a.json", saved_results / "same.json"
    shutil.copy(a, same)
    code, output = invoke("eval", "--compare", a, same)
    assert code == 0 and "FD" in output and "protocol" in output
    assert output.splitlines()[7].split() == ["steps", "16", "16"]  # checkpoint.step, not "-"
    # its own process: no TensorFlow start-up notices on stderr, JSON on stdout
    process = subprocess.run([sys.executable, "-m", "gan_cli", "eval", "--compare", str(a), str(same), "--json"],
                             capture_output=True, text=True, timeout=60)
    assert process.returncode == 0 and process.stderr == "", process.stderr
    comparison = json.loads(process.stdout)
    assert comparison["comparable"] is True and comparison["differences"] == []
    assert [run["name"] for run in comparison["runs"]] == ["a.json", "same.json"]
    assert comparison["runs"][0]["step"] == 16
    assert comparison["runs"][0]["fd"] == json.loads(a.read_text())["metrics"]["fd"]
    code, output = invoke("eval", "--compare", a, saved_results / "b.json", "--json", "--force")
    assert code == 0 and json.loads(output)["differences"][0] == {"field": "n_fake", "values": [300, 200]}


def test_a_smaller_eval_keeps_the_runs_main_result(trained_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("eval", "eval.json"))
    assert invoke("eval", run, "--n", "200")[0] == 0
    result = CliRunner().invoke(cli, ["-q", "eval", str(run), "--n", "50"])
    assert result.exit_code == 0, result.output
    assert f"warning: {run / 'eval.json'} keeps its 200-sample result; this 50-sample result is in " \
           f"{run / 'eval' / 'eval-n50-seed0-test.json'}" in result.stderr
    assert json.loads((run / "eval.json").read_text())["n_fake"] == 200
    assert json.loads((run / "eval" / "eval-n50-seed0-test.json").read_text())["n_fake"] == 50
    code, output = invoke("info", run)
    assert code == 0 and "200 samples vs test; 1 more result(s)" in output, output
    assert invoke("eval", run, "--n", "50", "--replace")[0] == 0
    assert json.loads((run / "eval.json").read_text())["n_fake"] == 50
    assert sorted(p.name for p in (run / "eval").iterdir()) == ["eval-n200-seed0-test.json", "eval-n50-seed0-test.json"]


def test_evaluator_identity_is_what_it_computes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_cli.data import load_images
    from gan_cli.evaluation import evaluator
    from gan_cli.evaluation.evaluator import data_digest, data_splits, evaluator_identity

    monkeypatch.setattr(evaluator, "TRAIN_STEPS", 10)  # 10 epochs of 135 images: the same code, seconds not minutes
    digits = load_images(DataSpec(source="digits"))
    assert digits.labels is not None
    np.savez(tmp_path / "d.npz", x=((digits.images[:150] + 1) * 127.5).round().astype(np.uint8), y=digits.labels[:150])
    spec = DataSpec(source="npz", path=str(tmp_path / "d.npz"))
    built = []
    for cache in ("one", "two"):  # two builds in fresh cache folders: different files, one identity
        monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / cache))
        built.append(load_or_build_evaluator(spec, echo=lambda _: None, progress=False))
    first, second = built
    assert len(first.id) == 64 and first.id == second.id
    weights = first.model.get_weights()
    weights[-1] = weights[-1] + 1e-3
    digest, definition = data_digest(*data_splits(spec)), first.info["definition"]
    assert evaluator_identity(definition, first.info["data"], digest, first.model.get_weights()) == first.id
    assert evaluator_identity(definition, first.info["data"], digest, weights) != first.id
    moved = {**first.info["data"], "path": "/elsewhere/d.npz"}  # another machine's folder: the same identity
    assert evaluator_identity(definition, moved, digest, first.model.get_weights()) == first.id
    card = second.directory / "evaluator.json"  # a cache made before ids gets its id when loaded
    card.write_text(json.dumps({k: v for k, v in second.info.items() if k != "id"}))
    assert load_or_build_evaluator(spec).id == first.id and json.loads(card.read_text())["id"] == first.id


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
