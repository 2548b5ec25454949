"""Conventions users expect of a command-line tool: help, version, exit codes, --quiet/--verbose, NO_COLOR,
shell completion, and ``gan info``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gan_cli import __version__
from gan_cli.cli import cli


def invoke(*args: str | Path, env: dict[str, str] | None = None, color: bool = False) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env, color=color)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny digits run (2 epochs of 8 steps, checkpoints at steps 8 and 16)."""
    from conftest import TINY_RECIPE

    folder = tmp_path_factory.mktemp("conventions")
    recipe = folder / "tiny.yaml"
    recipe.write_text(TINY_RECIPE)
    code, output = invoke("-q", "train", recipe, "--out", folder / "run")
    assert code == 0, output
    return folder / "run"


def test_help_and_version() -> None:
    for args in (["-h"], ["--help"], ["train", "-h"], ["info", "--help"]):
        code, output = invoke(*args)
        assert code == 0 and "Usage: " in output, args
    for group in ([], ["recipes"]):  # every command's one-line summary fits, none is cut off with "..."
        commands = invoke(*group, "--help")[1].split("Commands:", 1)[1]
        assert "..." not in commands and len(commands.strip().splitlines()) >= 4, commands
    code, output = invoke("--version")
    assert code == 0 and __version__ in output


def test_exit_codes_usage_error_is_2_failure_is_1(tmp_path: Path) -> None:
    assert invoke("train", "--no-such-option")[0] == 2
    assert invoke("-q", "-v", "info", tmp_path)[0] == 2
    code, output = invoke("train", tmp_path / "missing.yaml")
    assert code == 1 and output.startswith("Error: ") and output.count("\n") == 1


def test_quiet_prints_only_the_result_and_verbose_adds_model_sizes(trained_run: Path, tiny_recipe: Path,
                                                                   tmp_path: Path) -> None:
    code, output = invoke("-q", "train", tiny_recipe, "--out", tmp_path / "quiet", "--set", "train.epochs=1")
    assert code == 0 and output.splitlines() == [output.strip()] and output.startswith("done: 8 steps")
    code, output = invoke("-v", "train", tiny_recipe, "--out", tmp_path / "verbose", "--set", "train.epochs=1")
    assert code == 0 and "generator: 2,800 parameters" in output and "epoch 1/1" in output
    assert output.count("data: digits") == 1


def test_colour_only_without_no_color(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    _, coloured = invoke("train", missing, color=True)
    _, plain = invoke("train", missing, color=True, env={"NO_COLOR": "1"})
    assert "\x1b[" in coloured and "Error:" in coloured
    assert "\x1b[" not in plain and plain.startswith("Error: ")


def test_progress_bars_stay_out_of_logs(trained_run: Path, tiny_recipe: Path, tmp_path: Path) -> None:
    """Output that is not a terminal (CI logs) gets one line per epoch, no carriage-return progress bars."""
    result = subprocess.run([sys.executable, "-m", "gan_cli", "train", str(tiny_recipe), "--out",
                             str(tmp_path / "run"), "--set", "train.epochs=1"], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr and "\x1b[" not in result.stdout + result.stderr
    assert "epoch 1/1" in result.stdout


def test_shell_completion_scripts_and_answers() -> None:
    gan = Path(sys.executable).with_name("gan")
    if not gan.exists():
        pytest.skip("the gan console script is not installed next to this Python")
    for shell in ("bash", "zsh", "fish"):
        script = subprocess.run([gan], capture_output=True, text=True, timeout=60,
                                env={**os.environ, "_GAN_COMPLETE": f"{shell}_source"})
        assert script.returncode == 0 and "_GAN_COMPLETE" in script.stdout, shell
    answer = subprocess.run([gan], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "_GAN_COMPLETE": "bash_complete", "COMP_WORDS": "gan in",
                                 "COMP_CWORD": "1"})
    assert "info" in answer.stdout


def test_info_on_a_run_directory(trained_run: Path) -> None:
    code, output = invoke("info", trained_run)
    assert code == 0, output
    lines = dict(line.split(None, 1) for line in output.splitlines())
    assert lines["kind"] == "gan run directory"
    assert lines["trained"].startswith("16 steps (2 epochs), finished")
    assert lines["latest"] == f"{trained_run / 'checkpoints' / 'ckpt-16'} (step 16; files match its manifest)"
    assert lines["older"] == "steps 8" and lines["eval"].startswith("none yet")
    code, output = invoke("info", trained_run, "--json")
    facts = json.loads(output)
    assert [c["step"] for c in facts["checkpoints"]] == [16, 8] and facts["recipe"]["name"] == "tiny"
    assert facts["generator"]["step"] == 16


def test_info_names_a_damaged_checkpoint_file(trained_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy)
    data = next((copy / "checkpoints").glob("ckpt-16.data-*"))
    data.write_bytes(data.read_bytes()[:-1] + b"\x00")
    code, output = invoke("info", copy)
    assert code == 0 and f"damaged: {data} is damaged" in output


def test_info_on_models_recipes_and_bad_paths(trained_run: Path, tiny_recipe: Path, tmp_path: Path) -> None:
    code, output = invoke("info", trained_run / "generator.keras")
    assert code == 0 and "parameters  2,800" in output and "output      (8, 8, 1)" in output
    code, output = invoke("info", tiny_recipe)
    assert code == 0 and "recipe      tiny: gan, loss bce, data digits" in output
    for bad in (tmp_path / "absent", tmp_path):
        code, output = invoke("info", bad)
        assert code == 1 and output.startswith(f"Error: {bad}: ") and output.count("\n") == 1


def test_info_shows_the_latest_evaluation_with_its_floor(trained_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy)
    (copy / "eval.json").write_text(json.dumps({
        "n_fake": 200, "split": "train", "metrics": {"fd": 142.43}, "floor": {"fd": 34.965},
        "translation": {"direction": "a2b", "output": {"l1": 0.1049, "psnr": 16.166, "ssim": 0.6715}}}))
    code, output = invoke("info", copy)
    assert code == 0
    assert "eval        FD 142.4 (floor 34.965), L1 0.1049, PSNR 16.17, SSIM 0.6715; 200 samples vs train (a2b)" \
        in output.splitlines()
