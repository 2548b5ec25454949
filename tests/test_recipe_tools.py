"""Recipes as things people share: the shipped recipes as package data, ``gan recipes list|show|new|validate``,
``extends:`` by a shipped recipe's name, and ``gan train RECIPE --smoke`` for CI."""

from __future__ import annotations

import json
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gan_cli.cli import cli
from gan_cli.errors import RecipeError
from gan_cli.recipe.catalog import shipped_names
from gan_cli.recipe.loading import load_recipe
from gan_cli.recipe.schema import recipe_to_dict
from gan_cli.runs.run_dir import RunDir
from gan_cli.training.plan import plan_training
from gan_cli.training.smoke import SmokeCheckFailed, check_run

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in (REPO / "gan_cli" / "recipe" / "shipped").glob("*.yaml"))


def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def test_shipped_recipes_are_package_data_and_recipes_links_to_them() -> None:
    folder = resources.files("gan_cli").joinpath("recipe", "shipped")
    assert sorted(Path(str(p)).stem for p in folder.iterdir() if p.name.endswith(".yaml")) == SHIPPED
    assert len(SHIPPED) >= 20 and shipped_names() == SHIPPED
    assert (REPO / "recipes").resolve() == (REPO / "gan_cli" / "recipe" / "shipped").resolve()  # recipes/X.yaml
    assert '"recipe/shipped/*.yaml"' in (REPO / "pyproject.toml").read_text()  # what pip install packages


def test_list_shows_every_shipped_recipe_with_its_own_description() -> None:
    code, output = invoke("recipes", "list")
    assert code == 0, output
    lines = {line.split()[0]: line.split(None, 1)[1] for line in output.splitlines()}
    assert sorted(lines) == SHIPPED
    for name in SHIPPED:
        raw = yaml.safe_load((REPO / "gan_cli" / "recipe" / "shipped" / f"{name}.yaml").read_text())
        assert raw["description"] == lines[name] and 20 < len(lines[name]) <= 110, name  # stated, not inherited


def test_show_prints_the_recipe_as_written_then_resolved_with_defaults() -> None:
    code, output = invoke("recipes", "show", "digits_gan")
    assert code == 0, output
    written, resolved = yaml.safe_load_all(output)
    assert written["extends"] == "mnist_gan.yaml" and "health" not in written
    assert resolved == recipe_to_dict(load_recipe(REPO / "recipes" / "digits_gan.yaml"))
    assert resolved["health"]["on_divergence"] == "stop" and resolved["train"]["d_steps"] == 1  # defaults
    assert "as written" in output.split("---")[0] and "resolved" in output.split("---")[1]
    code, output = invoke("recipes", "show", "no_such_gan")
    assert code == 1 and "digits_gan" in output and "mnist_gan" in output and len(output.splitlines()) == 1


def test_new_copies_a_shipped_recipe_and_refuses_to_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = invoke("recipes", "new", "my_gan", "--from", "cgan_digits")
    assert code == 0, output
    copy = tmp_path / "my_gan.yaml"
    text = copy.read_text()
    assert "name: my_gan\n" in text and "extends: digits_gan\n" in text and "# Conditional GAN" not in text
    assert text.startswith("# my_gan: made from cgan_digits by gan recipes new; train with: gan train my_gan.yaml\n")
    ours, theirs = recipe_to_dict(load_recipe(copy)), recipe_to_dict(load_recipe(REPO / "recipes" / "cgan_digits.yaml"))
    assert ours.pop("name") == "my_gan" and theirs.pop("name") == "cgan_digits"
    assert ours.pop("description") == f"made from cgan_digits: {theirs.pop('description')}" and ours == theirs
    copy.write_text(text + "# my edits\n")
    code, output = invoke("recipes", "new", "my_gan", "--from", "digits_gan")
    assert code == 2 and "already exists" in output and "--force" in output  # a usage error
    assert copy.read_text().endswith("# my edits\n")
    code, output = invoke("recipes", "new", "my_gan", "--from", "digits_gan", "--force")
    assert code == 0 and load_recipe(copy).family == "gan" and "# my edits" not in copy.read_text()


def test_validate_reports_each_file_and_fails_when_one_is_invalid(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("extends: digits_gan\ntrain: {epochs: 3}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: digits_gan\ntrain: {epochs: 3, batch_sise: 4}\n")
    code, output = invoke("recipes", "validate", good)
    assert (code, output) == (0, f"ok {good}\n")
    code, output = invoke("recipes", "validate", good, bad)
    lines = output.splitlines()
    assert code == 1 and lines[0] == f"ok {good}"
    assert lines[1].startswith(f"{bad}: train.batch_sise") and "batch_size" in lines[1] and len(lines) == 2
    code, output = invoke("recipes", "validate", REPO / "recipes")  # a folder: every recipe in it
    assert code == 0 and output.count("ok ") == len(SHIPPED)


def test_extends_by_a_shipped_name_and_unknown_names(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: digits_gan\nname: mine\ntrain: {epochs: 7}\n")
    recipe, base = load_recipe(mine), load_recipe(REPO / "recipes" / "digits_gan.yaml")
    assert recipe.train.epochs == 7 and recipe.generator == base.generator and recipe.data == base.data
    (tmp_path / "local.yaml").write_text("extends: mine.yaml\n")  # paths still resolve beside the recipe
    assert load_recipe(tmp_path / "local.yaml").train.epochs == 7
    mine.write_text("extends: digits_gun\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(mine)
    message = str(info.value)
    assert "digits_gun" in message and "shipped recipes:" in message and all(n in message for n in SHIPPED)
    assert plan_training("digits_gan", out=tmp_path / "run").recipe.name == "digits_gan"  # gan train NAME


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run = tmp_path_factory.mktemp("smoke") / "digits"
    code, output = invoke("train", REPO / "recipes" / "digits_gan.yaml", "--smoke", "--out", run)
    assert code == 0, output
    return run, output


def test_smoke_trains_a_few_steps_and_checks_the_run_directory(smoke_run: tuple[Path, str]) -> None:
    run, output = smoke_run
    assert "passed 6 checks" in output and "ok  generator.keras: loads and draws images" in output
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["steps"], summary["finished"]) == (4, True)
    assert list((run / "checkpoints").glob("ckpt-4.manifest.json")) and (run / "generator.keras").is_file()
    assert list((run / "samples").glob("*.png")) and (run / "metrics.csv").is_file()
    resolved = yaml.safe_load((run / "recipe.yaml").read_text())
    assert resolved["data"]["limit"] == 800 and resolved["train"]["batch_size"] == 8
    assert resolved["eval"]["every"] is None and resolved["generator"]["widths"] == [128, 256]  # the recipe's nets


def test_smoke_check_names_what_is_missing(smoke_run: tuple[Path, str], tmp_path: Path) -> None:
    run, _ = smoke_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    for grid in (copy / "samples").glob("*.png"):
        grid.unlink()
    with pytest.raises(SmokeCheckFailed, match="no sample grid"):
        check_run(RunDir(copy), load_recipe(copy / "recipe.yaml"))


def test_description_may_change_on_resume(smoke_run: tuple[Path, str]) -> None:
    run, _ = smoke_run
    plan = plan_training(run, resume=True, overrides=["description=a new line about it"])
    assert plan.recipe.description == "a new line about it" and plan.changes == ()


def test_smoke_of_a_translation_recipe(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, output = invoke("train", "pix2pix_digits", "--smoke", "--out", run)
    assert code == 0, output
    assert "ok  generator.keras: loads and translates images" in output
    assert json.loads((run / "summary.json").read_text())["finished"] is True


def test_smoke_without_data_fails_in_one_line_and_leaves_no_temporary_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    code, output = invoke("train", "digits_gan", "--smoke", "--set", "data.source=npz",
                          "--set", f"data.path={tmp_path / 'missing.npz'}")
    assert code == 1 and "Error: " in output and "missing.npz" in output
    assert list(scratch.iterdir()) == []
    code, output = invoke("train", "digits_gan", "--smoke", "--resume")
    assert code == 2 and "--resume" in output
