"""Hand-edited run directories: each checkpoint's manifest records the recipe it was trained with, so an edit of
``RUN/recipe.yaml`` is a change on resume exactly like ``--set``: refused naming the keys unless allowed, and
recorded in ``changes.json`` with where it came from. Most tests plan a resume of a run directory made by hand
(a recipe and a manifest, no weights), which needs no TensorFlow; one trains the tiny digits GAN end to end."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from gan_cli.cli import cli
from gan_cli.errors import RecipeError
from gan_cli.recipe.loading import load_recipe, parse_recipe
from gan_cli.recipe.schema import dump_recipe
from gan_cli.runs.checkpoints import CheckpointStore, committed_checkpoints, recipe_record
from gan_cli.runs.run_dir import RunDir
from gan_cli.training.epoch_loop import _record_changes
from gan_cli.training.plan import HAND_EDIT, SET, plan_training, trained_recipe

LR = "learning_rate: 0.0002, beta_1: 0.5"  # the generator's and the discriminator's optimizer in recipe.yaml


def run_with_checkpoint(tiny_recipe: Path, step: int | None = 8, record: bool = True) -> RunDir:
    """A run directory as ``gan train`` leaves it, without weights: ``recipe.yaml`` and (unless ``step`` is None) a
    committed checkpoint ``ckpt-STEP`` whose manifest records the recipe (``record``) or predates recording."""
    recipe = load_recipe(tiny_recipe)
    run = RunDir(tiny_recipe.parent / "run")
    run.checkpoints.mkdir(parents=True)
    run.recipe.write_text(dump_recipe(recipe))
    if step is not None:
        (run.checkpoints / f"ckpt-{step}.index").write_bytes(b"")
        manifest = {"step": step, **(recipe_record(recipe) if record else {}), "loop": {}, "sha256": {}}
        (run.checkpoints / f"ckpt-{step}.manifest.json").write_text(json.dumps(manifest))
    return run


def edit(run: RunDir, old: str, new: str, count: int = 1) -> None:
    """Edit ``recipe.yaml`` by hand: replace the first ``count`` occurrences of ``old``."""
    text = run.recipe.read_text()
    assert text.count(old) >= count, old
    run.recipe.write_text(text.replace(old, new, count))


def test_a_hand_edit_of_the_model_is_refused_naming_file_keys_and_values(tiny_recipe: Path) -> None:
    run = run_with_checkpoint(tiny_recipe)
    edit(run, "widths: [16, 32]", "widths: [16, 64]")
    with pytest.raises(RecipeError) as caught:
        plan_training(run.root, resume=True)
    message = str(caught.value)
    assert message.startswith(f"{run.recipe}: generator.widths [16, 32] -> [16, 64] ({HAND_EDIT})")
    assert "--allow-changes generator.widths" in message and f"undo the hand edit of {run.recipe}" in message
    assert "\n" not in message


def test_an_allowed_hand_edit_is_a_change_with_its_source(tiny_recipe: Path) -> None:
    run = run_with_checkpoint(tiny_recipe)
    edit(run, LR, "learning_rate: 0.001, beta_1: 0.5")  # the generator's only
    with pytest.raises(RecipeError, match=r"optimizers\.generator\.learning_rate 0\.0002 -> 0\.001"):
        plan_training(run.root, resume=True)
    plan = plan_training(run.root, resume=True, allow_changes=["optimizers.generator.learning_rate"])
    assert plan.recipe.optimizers.generator.learning_rate == 0.001
    assert plan.changes == (("optimizers.generator.learning_rate", 0.0002, 0.001),)
    assert plan.sources == {"optimizers.generator.learning_rate": HAND_EDIT}


def test_a_hand_edit_of_a_resumable_key_needs_no_flag_but_is_recorded(tiny_recipe: Path) -> None:
    run = run_with_checkpoint(tiny_recipe)
    edit(run, "epochs: 2", "epochs: 5")
    plan = plan_training(run.root, resume=True)
    assert plan.changes == (("train.epochs", 2, 5),) and plan.sources == {"train.epochs": HAND_EDIT}


def test_a_hand_edit_combines_with_set(tiny_recipe: Path) -> None:
    run = run_with_checkpoint(tiny_recipe)
    edit(run, LR, "learning_rate: 0.001, beta_1: 0.5", count=2)  # both optimizers
    overrides = ["generator.widths=[8]", "train.epochs=3", "optimizers.discriminator.learning_rate=0.005"]
    with pytest.raises(RecipeError) as caught:
        plan_training(run.root, resume=True, overrides=overrides)
    message = str(caught.value)
    assert f"generator.widths [16, 32] -> [8] ({SET})" in message
    assert f"optimizers.generator.learning_rate 0.0002 -> 0.001 ({HAND_EDIT})" in message
    assert f"optimizers.discriminator.learning_rate 0.0002 -> 0.005 ({SET})" in message  # --set over the edit
    assert "--allow-changes generator.widths,optimizers.discriminator.learning_rate," in message
    plan = plan_training(run.root, resume=True, overrides=overrides, allow_changes=["generator,optimizers"])
    assert dict(plan.sources) == {"generator.widths": SET, "optimizers.discriminator.learning_rate": SET,
                                  "optimizers.generator.learning_rate": HAND_EDIT, "train.epochs": SET}
    # --set may also undo a hand edit: then nothing changes
    undo = plan_training(run.root, resume=True, overrides=["optimizers.generator.learning_rate=0.0002",
                                                           "optimizers.discriminator.learning_rate=0.0002"])
    assert undo.changes == () and undo.recipe.optimizers.generator.learning_rate == 0.0002


def test_changes_recorded_since_the_checkpoint_are_not_hand_edits(tiny_recipe: Path) -> None:
    """An allowed change is in recipe.yaml and changes.json before the next checkpoint records it; a resume in
    between (the process was killed) is not a hand edit. An entry older than the checkpoint does not count."""
    run = run_with_checkpoint(tiny_recipe)
    edit(run, LR, "learning_rate: 0.001, beta_1: 0.5")
    allowed = plan_training(run.root, resume=True, allow_changes=["optimizers.generator.learning_rate"])
    _record_changes(run, 8, allowed.changes, allowed.sources)  # what begin() writes when it resumes at step 8
    assert json.loads(run.changes.read_text())[0]["sources"] == {"optimizers.generator.learning_rate": HAND_EDIT}
    trained = trained_recipe(run)
    assert trained is not None and trained.optimizers.generator.learning_rate == 0.001
    again = plan_training(run.root, resume=True)
    assert again.changes == () and again.recipe.optimizers.generator.learning_rate == 0.001
    entries = json.loads(run.changes.read_text())
    run.changes.write_text(json.dumps([{**entries[0], "step": 7}]))  # made before ckpt-8 was trained
    with pytest.raises(RecipeError, match=HAND_EDIT):
        plan_training(run.root, resume=True)


def test_a_run_without_a_recorded_recipe_resumes_as_before(tiny_recipe: Path) -> None:
    """No checkpoint yet (it trains from step 0 with recipe.yaml as it is), or checkpoints from before recipes
    were recorded: recipe.yaml is the base."""
    for step, record in ((None, True), (8, False)):
        run = run_with_checkpoint(tiny_recipe, step=step, record=record)
        edit(run, "widths: [16, 32]", "widths: [16, 64]")
        plan = plan_training(run.root, resume=True)
        assert plan.recipe.generator.widths == (16, 64) and plan.changes == ()
        assert trained_recipe(run) is None
        with pytest.raises(RecipeError, match=r"generator\.widths \[16, 64\] -> \[8\] \(--set\)"):
            plan_training(run.root, resume=True, overrides=["generator.widths=[8]"])
        for path in sorted(run.root.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        run.root.rmdir()


def test_a_recipe_file_with_out_is_compared_with_the_trained_recipe(tiny_recipe: Path) -> None:
    run = run_with_checkpoint(tiny_recipe)
    edit(run, "widths: [16, 32]", "widths: [16, 64]")  # overwritten: the recipe file is what resumes
    assert plan_training(tiny_recipe, out=run.root, resume=True).changes == ()
    tiny_recipe.write_text(tiny_recipe.read_text().replace("widths: [16, 32]", "widths: [8]"))
    with pytest.raises(RecipeError, match=rf"generator\.widths \[16, 32\] -> \[8\] \(recipe {tiny_recipe}\)"):
        plan_training(tiny_recipe, out=run.root, resume=True)


def test_checkpoint_manifests_record_the_recipe_and_the_sha256_of_recipe_yaml(tiny_recipe: Path,
                                                                            tmp_path: Path) -> None:
    recipe = load_recipe(tiny_recipe)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    store = CheckpointStore(tmp_path / "checkpoints", {"model": list(model.variables)},
                            np.zeros((1, 3), np.float32), keep=2)
    store.recipe = recipe
    store.save(1)
    store.write_snapshot(tmp_path / "best", 1, model, {"fd": 1.0})
    for manifest in (committed_checkpoints(tmp_path / "checkpoints")[0][2],
                     json.loads((tmp_path / "best" / "ckpt.manifest.json").read_text())):
        assert parse_recipe(manifest["recipe"]) == recipe
        assert manifest["recipe_sha256"] == hashlib.sha256(dump_recipe(recipe).encode()).hexdigest()


def test_hand_edits_end_to_end(tiny_recipe: Path, tmp_path: Path) -> None:
    """Train, edit recipe.yaml by hand, resume: refused in one line before TensorFlow restores anything; allowed,
    recorded with its source, and the next checkpoint records the recipe it was trained with."""
    run = RunDir(tmp_path / "run")

    def invoke(*args: object) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["train", *map(str, args)], catch_exceptions=False)
        return result.exit_code, result.output

    assert invoke(tiny_recipe, "--out", run.root, "--set", "train.epochs=1")[0] == 0
    edit(run, LR, "learning_rate: 0.001, beta_1: 0.5")
    code, output = invoke(run.root, "--resume", "--set", "train.epochs=2")
    assert code == 1 and output.strip().splitlines() == [
        f"Error: {run.recipe}: optimizers.generator.learning_rate 0.0002 -> 0.001 ({HAND_EDIT}): a resumed run may "
        "change only train.epochs, train.steps, sampling.*, checkpoints.*, eval.*, health.* and logs.*; to change "
        "the rest of this run add --allow-changes optimizers.generator.learning_rate (recorded in changes.json), "
        f"undo the hand edit of {run.recipe}, or start a new run with another --out"]
    code, output = invoke(run.root, "--resume", "--set", "train.epochs=2",
                          "--allow-changes", "optimizers.generator.learning_rate")
    assert code == 0, output
    assert f"optimizers.generator.learning_rate 0.0002 -> 0.001 ({HAND_EDIT})" in output
    [entry] = json.loads(run.changes.read_text())
    assert entry["step"] == 8 and entry["changes"] == {
        "optimizers.generator.learning_rate": {"from": 0.0002, "to": 0.001}, "train.epochs": {"from": 1, "to": 2}}
    assert entry["sources"] == {"optimizers.generator.learning_rate": HAND_EDIT, "train.epochs": SET}
    step, _, manifest = committed_checkpoints(run.checkpoints)[0]
    assert step == 16 and manifest["recipe"]["optimizers"]["generator"]["learning_rate"] == 0.001
    assert manifest["recipe_sha256"] == hashlib.sha256(run.recipe.read_bytes()).hexdigest()
    edit(run, "widths: [16, 32]", "widths: [16, 64]")  # once failed in TensorFlow's restore, with its warnings
    code, output = invoke(run.root, "--resume", "--set", "train.epochs=3")
    assert code == 1 and len(output.strip().splitlines()) == 1
    assert f"generator.widths [16, 32] -> [16, 64] ({HAND_EDIT})" in output and "WARNING" not in output
