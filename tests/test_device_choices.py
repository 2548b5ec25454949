"""What ``auto`` settles by timing the device: mixed precision (``train.precision``) and XLA
(``train.jit_compile``), each measured once per device and cached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gan_cli.cli import cli
from gan_cli.device import cache as device_cache
from gan_cli.device import xla
from gan_cli.errors import RecipeError
from gan_cli.recipe.loading import load_recipe


def seed_cache(root: Path, **kinds: dict) -> Path:
    """A device cache in ``root`` holding ``kinds`` for this machine's device."""
    path = root / device_cache.CACHE_FILE
    path.write_text(json.dumps({device_cache.device_name(): kinds}))
    return path


def test_a_measurement_is_made_once_per_device_and_kept_beside_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
    calls = []

    def measure() -> dict:
        calls.append(1)
        return {"choice": True, "ms": 1.5}

    path = seed_cache(tmp_path, precision={"choice": "float32"})
    assert device_cache.measured("xla", measure) == {"choice": True, "ms": 1.5}
    assert device_cache.measured("xla", measure) == {"choice": True, "ms": 1.5}
    assert len(calls) == 1
    entry = json.loads(path.read_text())[device_cache.device_name()]
    assert entry == {"precision": {"choice": "float32"}, "xla": {"choice": True, "ms": 1.5}}


def test_a_damaged_cache_is_measured_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
    (tmp_path / device_cache.CACHE_FILE).write_text("{not json")
    assert device_cache.measured("xla", lambda: {"choice": False}) == {"choice": False}
    assert json.loads((tmp_path / device_cache.CACHE_FILE).read_text())[device_cache.device_name()] == {
        "xla": {"choice": False}}


def test_the_xla_measurement_times_both_ways_and_chooses_by_the_margin() -> None:
    result = xla.measure()
    assert result["ms_per_update"] > 0 and result["xla_ms_per_update"] > 0
    assert result["choice"] == (result["ms_per_update"] >= xla.AUTO_MARGIN * result["xla_ms_per_update"])


def test_auto_follows_the_measurement_and_is_off_under_a_strategy_and_tpu_compiles_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
    seed_cache(tmp_path, xla={"choice": True, "ms_per_update": 9.0, "xla_ms_per_update": 3.0})
    assert xla.resolve("auto") is True
    assert xla.resolve("auto", "mirrored") is False
    assert xla.resolve(False) is False and xla.resolve(True, "mirrored") is True
    assert xla.resolve(True, "tpu") is False and xla.describe(True, "tpu").startswith("xla: on (TPUStrategy")
    assert xla.describe("auto").startswith("xla: on (auto: a small update 3.0 ms with XLA vs 9.0 ms without on ")
    assert xla.describe(False) == "xla: off (train.jit_compile: false)"


@pytest.mark.parametrize("value", ["auto", "true", "false"])
def test_jit_compile_takes_auto_true_or_false(tiny_recipe: Path, value: str) -> None:
    expected = {"auto": "auto", "true": True, "false": False}[value]
    assert load_recipe(tiny_recipe, [f"train.jit_compile={value}"]).train.jit_compile == expected


@pytest.mark.parametrize("value", ["yes_please", "1", "'true'"])
def test_jit_compile_refuses_anything_else_naming_the_choices(tiny_recipe: Path, value: str) -> None:
    with pytest.raises(RecipeError, match=r"train\.jit_compile.*valid choices: auto, true, false"):
        load_recipe(tiny_recipe, [f"train.jit_compile={value}"])


def test_a_device_where_xla_measured_faster_trains_with_xla(
        tiny_recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The measured choice reaches the run: dry-run says so, the run trains with the XLA-compiled fused
    step and summary.json records it; an explicit false still wins."""
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
    seed_cache(tmp_path, precision={"choice": "float32", "float32_gflops": 1.0, "bfloat16_gflops": 1.0},
               xla={"choice": True, "ms_per_update": 9.0, "xla_ms_per_update": 3.0})
    runner = CliRunner()
    plan = runner.invoke(cli, ["train", str(tiny_recipe), "--out", str(tmp_path / "dry"), "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert "xla: on (auto: a small update 3.0 ms with XLA vs 9.0 ms without" in plan.output
    for jit, expected in (("auto", True), ("false", False)):
        run = tmp_path / f"run-{jit}"
        result = runner.invoke(cli, ["train", str(tiny_recipe), "--out", str(run), "--set", "train.steps=3",
                                     "--set", f"train.jit_compile={jit}"])
        assert result.exit_code == 0, result.output
        assert json.loads((run / "summary.json").read_text())["jit_compile"] is expected


@pytest.mark.parametrize("recipe", ["wgan_gp_digits", "cgan_digits", "infogan_digits", "hinge_sn_digits"])
def test_every_gan_family_trains_with_its_fused_step_compiled_by_xla(recipe: str, tmp_path: Path) -> None:
    """XLA (train.jit_compile, and what TPUStrategy does to every step) compiles each family's whole fused
    step: the gradient penalty's double gradient, labels, InfoGAN's Q head, spectral norm."""
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["-q", "train", recipe, "--smoke", "--out", str(run),
                                      "--set", "train.jit_compile=true"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "summary.json").read_text())["jit_compile"] is True
