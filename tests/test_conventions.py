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


# ------------------------------------------------------------------------------------------------------------
# Usage errors exit 2, interruptions are no errors, gan's flags after the command, dry runs without the data,
# completion of recipe names, one clear line where a library would mislead, one name for each D score

def one_error_line(output: str) -> str:
    """The one line an error prints (and that it is one line, with no traceback)."""
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in output, output
    return lines[0]


@pytest.fixture(scope="module")
def conditional_generator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained conditional generator file: z (8,) and a one-hot label (10,) -> 8x8x1 images."""
    import keras

    z, label = keras.Input((8,)), keras.Input((10,))
    images = keras.layers.Reshape((8, 8, 1))(keras.layers.Dense(64, activation="tanh")(
        keras.layers.Concatenate()([z, label])))
    path = tmp_path_factory.mktemp("conditional") / "generator.keras"
    keras.Model([z, label], images).save(path)
    return path


def test_usage_errors_exit_2_and_real_failures_1(trained_run: Path, conditional_generator: Path, tiny_recipe: Path,
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "x.png"
    for args in (["sample", conditional_generator, "--label", "12", "--out", out],  # classes 0..9
                 ["sample", trained_run, "--label", "3", "--out", out],  # not a conditional generator
                 ["sample", trained_run, "--grid", "3x3", "--n", "100", "--out", out],
                 ["train", tiny_recipe, "--set", "train", "--dry-run"],  # no '='
                 ["train", tiny_recipe, "--allow-changes", "seed", "--dry-run"],  # only with --resume
                 ["export", trained_run, "--format", "tflite", "--out", tmp_path / "g.keras"]):
        code, output = invoke(*args)
        assert code == 2 and one_error_line(output), (args, output)
    assert not out.exists()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text("train: {epochs: 1}\n")
    code, output = invoke("recipes", "new", "mine", "--from", "digits_gan")
    assert code == 2 and "already exists" in one_error_line(output)
    assert (tmp_path / "mine.yaml").read_text() == "train: {epochs: 1}\n"
    for args in (["sample", tmp_path / "absent", "--out", out],  # failures, not usage errors: still 1
                 ["train", tiny_recipe, "--set", "train.epochs=-1", "--dry-run"]):
        code, output = invoke(*args)
        assert code == 1 and one_error_line(output), (args, output)


@pytest.mark.parametrize("stop, code, line", [
    ("SIGTERM", 143, "stopped by SIGTERM at step 5 (epoch 0.62); saved checkpoint R/ckpt-5; continue with: "
                     "gan train R --resume"),
    ("Ctrl-C", 130, "interrupted"),
])
def test_an_interruption_is_said_without_error_prefix(tiny_recipe: Path, monkeypatch: pytest.MonkeyPatch, stop: str,
                                                      code: int, line: str) -> None:
    import gan_cli.training.plan
    from gan_cli.errors import TrainingInterrupted

    def stopped(*args: object, **kwargs: object) -> None:
        raise TrainingInterrupted(line, exit_code=code) if stop == "SIGTERM" else KeyboardInterrupt

    monkeypatch.setattr(gan_cli.training.plan, "plan_training", stopped)
    assert invoke("train", tiny_recipe) == (code, line + "\n")


def test_gans_own_flags_also_follow_the_command(tiny_recipe: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import click
    from test_docs import commands

    import gan_cli.training.plan
    from gan_cli.console import QUIET, VERBOSE, verbosity
    from gan_cli.errors import RecipeError

    for name, command in commands():  # every command, gan export and gan recipes validate included
        flags = {opt for param in command.params for opt in param.opts}
        assert {"--debug", "-q", "--quiet", "-v", "--verbose"} <= flags, name
    code, output = invoke("train", tiny_recipe, "-q", "--dry-run", "--set", "train.precision=float32",
                          "--set", "train.jit_compile=false")
    assert code == 0 and "# generator: 2,800 parameters" in output
    assert invoke("recipes", "list", "--quiet")[0] == 0
    assert invoke("-q", "train", tiny_recipe, "-v")[0] == 2  # still a contradiction
    seen = []

    def record(*args: object, **kwargs: object) -> None:
        seen.append((verbosity(), click.get_current_context().find_root().params["debug"]))
        raise RecipeError("stop here")

    monkeypatch.setattr(gan_cli.training.plan, "plan_training", record)
    assert invoke("train", tiny_recipe, "-q")[0] == 1 and invoke("train", tiny_recipe, "--verbose")[0] == 1
    result = CliRunner().invoke(cli, ["train", str(tiny_recipe), "--debug"])
    assert isinstance(result.exception, RecipeError)  # --debug after the command: the traceback, not one line
    assert seen == [(QUIET, False), (VERBOSE, False), (0, True)]
    result = CliRunner().invoke(cli, ["sample", str(tmp_path / "absent"), "--debug"])
    assert result.exception is not None and not isinstance(result.exception, SystemExit)


def test_dry_run_sizes_the_networks_of_a_data_set_that_is_not_here(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import REPO

    from gan_cli.data import keras_datasets

    def no_download(name: str) -> None:
        raise AssertionError(f"--dry-run tried to fetch {name}")

    monkeypatch.setattr(keras_datasets, "fetch_with_keras", no_download)
    monkeypatch.setattr(keras_datasets, "FASHION_MNIST_DIRS", ())  # not Debian's copy, if this machine has one
    env = {"KERAS_HOME": str(tmp_path / "keras")}  # an empty keras cache
    fast = ("--set", "train.precision=float32", "--set", "train.jit_compile=false")

    def notes(*args: object) -> list[str]:
        code, output = invoke("train", *args, "--dry-run", *fast, env=env)
        assert code == 0, output
        return [line[2:] for line in output.splitlines() if line.startswith("# ")]

    lines = notes(REPO / "recipes" / "mnist_gan.yaml")
    assert "generator: 1,486,352 parameters, z (100,) -> image (28, 28, 1)" in lines
    assert "discriminator: 1,460,225 parameters" in lines
    assert "schedule: 468 steps per epoch, 187200 steps in all" in lines
    cache = tmp_path / "keras" / "datasets" / "mnist.npz"
    assert lines[-1].startswith(f"data not read: mnist: not on this machine (looked in data.path (not set), {cache})")
    lines = notes("mnist_gan", "--set", "data.image_size=[16,16]", "--set", "data.channels=3",
                  "--set", "data.limit=1280", "--set", "data.split=test")
    assert "data: mnist: 1280 test images 16x16x3, 10 classes (from the data set's definition; its files were not " \
           "read)" in lines and any(line.endswith("-> image (16, 16, 3)") for line in lines)
    assert "schedule: 10 steps per epoch, 4000 steps in all" in lines
    assert any(line.endswith("-> image (32, 32, 3)") for line in notes("dcgan_cifar10"))
    lines = notes("pix2pix_fashion", "--set", "train.batch_size=16")
    assert "generator a2b: 7,217,729 parameters, (32, 32, 1) -> (32, 32, 1)" in lines
    assert lines[-1].startswith("data not read: fashion_mnist: not on this machine")
    lines = notes("mnist_gan", "--set", f"data.path={tmp_path / 'none.npz'}")
    assert lines[-1].startswith(f"data not read: {tmp_path / 'none.npz'}: not found (data.path)")
    code, output = invoke("train", "digits_gan", "--dry-run", *fast, "--set", "data.source=npz",
                          "--set", f"data.path={tmp_path / 'none.npz'}")  # its shape is in its file: an error
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert code == 1 and len(errors) == 1 and "none.npz" in errors[0]


def test_completing_a_recipe_offers_the_shipped_names_and_files() -> None:
    from click.shell_completion import ShellComplete

    complete = ShellComplete(cli, {}, "gan", "_GAN_COMPLETE")

    def offered(args: list[str], incomplete: str) -> tuple[set[str], bool]:
        items = complete.get_completions(args, incomplete)
        return {item.value for item in items if item.type == "plain"}, any(item.type == "file" for item in items)

    assert offered(["train"], "dig") == ({"digits_gan"}, True)
    assert offered(["recipes", "show"], "cgan_") == ({"cgan_digits", "cgan_mnist"}, True)
    assert "mnist_gan" in offered(["recipes", "new", "mine", "--from"], "mn")[0]


def test_misleading_library_messages_become_one_clear_line(trained_run: Path, tmp_path: Path) -> None:
    from PIL import Image

    from gan_cli.recipe.loading import load_recipe

    noise, notes = tmp_path / "noise.keras", tmp_path / "notes.keras"
    noise.write_bytes(bytes(range(256)) * 4)
    notes.write_text("not a model\n")
    for model in (noise, notes):
        for args in (["sample", model, "--out", tmp_path / "x.png"], ["info", model], ["eval", model, "--n", "10"]):
            code, output = invoke(*args)
            line = one_error_line(output)
            assert code == 1 and f"{model}: not a Keras model" in line and "File not found" not in line, args
    grid = tmp_path / "grid.png"
    Image.new("L", (8, 8)).save(grid)
    code, output = invoke("eval", "--samples", grid, "--source", "digits")
    assert code == 1 and "a PNG image, not an .npz archive" in one_error_line(output) and "pickle" not in output
    (tmp_path / "base.yaml").write_text("extends: digits_gan\ntrain: {epochs: 3}\n")
    (tmp_path / "child.yaml").write_text("extends: base\nseed: 5\n")  # base.yaml beside it, named without .yaml
    assert load_recipe(tmp_path / "child.yaml").train.epochs == 3
    (tmp_path / "empty.yaml").write_bytes(b"")
    (tmp_path / "comments.yaml").write_text("# nothing yet\n")
    code, output = invoke("recipes", "validate", tmp_path / "empty.yaml", tmp_path / "comments.yaml")
    assert code == 1 and output.splitlines() == [f"{tmp_path / name}.yaml: empty recipe (no sections); write its "
                                                 "sections (data, generator, train, ...), {} for every default, or "
                                                 "start from a shipped one: gan recipes new NAME --from digits_gan"
                                                 for name in ("empty", "comments")]
    (tmp_path / "defaults.yaml").write_text("{}\n")  # every default, deliberately
    assert invoke("recipes", "validate", tmp_path / "defaults.yaml")[0] == 0
    code, output = invoke("sample", trained_run, "--out", tmp_path / "no" / "such" / "x.png")
    assert code == 2 and "folder" in one_error_line(output) and not (tmp_path / "no").exists()
    for args in (["report", trained_run, "--out", tmp_path / "no" / "r.html"],
                 ["animate", trained_run, "--out", tmp_path / "no" / "p.gif"]):
        assert invoke(*args)[0] == 2 and not (tmp_path / "no").exists(), args
    code, output = invoke("sample", trained_run, "--n", "3", "--out", f"{tmp_path / 'frames'}/")  # a new DIR/
    assert code == 0 and len(list((tmp_path / "frames").glob("*.png"))) == 3
    for out in (tmp_path / "x.npz", f"{tmp_path / 'frames'}/"):
        code, output = invoke("sample", trained_run, "--grid", "2x2", "--out", out)
        assert code == 2 and "only a .png is laid out as a grid" in one_error_line(output)
    assert not (tmp_path / "x.npz").exists()


def test_d_scores_have_one_name_everywhere(tiny_recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.axes

    original, labels = matplotlib.axes.Axes.plot, []

    def plot(self: matplotlib.axes.Axes, *args: object, **kwargs: object) -> object:
        labels.append(kwargs.get("label"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", plot)
    run = tmp_path / "run"
    code, output = invoke("-q", "train", tiny_recipe, "--out", run, "--set", "train.epochs=1", "--progress")
    assert code == 0 and "D(G(z))" in output and "D(G(.))" not in output  # the progress bar (-q: no epoch lines)
    assert "D(x)" in labels and "D(G(z))" in labels  # loss_curves.png
    labels.clear()
    code, output = invoke("report", run)
    assert code == 0 and {"D(x)", "D(G(z))"} <= set(labels) and not {"d_real", "d_fake"} & set(labels)
    page = (run / "report.html").read_text()
    assert "final D(x)" in page and "final D(G(z))" in page and "final d_real" not in page
    from gan_cli.runs.plots import draw_loss_curves, plot_loss_curves

    labels.clear()
    rows = [{"epoch": 1, "step": 8, "d_loss": 0.6, "g_loss": 0.7, "d_real": 0.6, "d_fake": 0.4, "g_adv": 0.9}]
    plot_loss_curves(rows, tmp_path / "curves.png")
    draw_loss_curves([("pix2pix", rows, 8)])
    assert labels.count("D(G(x))") == 2 and "D(G(z))" not in labels  # a translation's G takes images, as its lines say


def test_readme_names_every_file_of_a_run_directory(trained_run: Path) -> None:
    from conftest import REPO

    table = (REPO / "README.md").read_text().split("The run directory:", 1)[1].split("\n#", 1)[0]
    for entry in trained_run.iterdir():
        if not entry.name.startswith("."):
            assert f"| `{entry.name}" in table, f"README's run-directory table lacks {entry.name}"
