"""What a ``gan train`` invocation means: which recipe, which run directory, new run or resume.

No TensorFlow here, so ``--dry-run`` and every recipe or run-directory error stay fast.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_cli.errors import RecipeError, RunDirError
from gan_cli.recipe import RESUMABLE_KEYS, Recipe, load_recipe, recipe_changes
from gan_cli.run_dir import RunDir, default_run_root, new_run, open_run
from gan_cli.shipped_recipes import recipe_path


@dataclass(frozen=True)
class TrainingPlan:
    """A validated recipe and the run directory it trains into."""

    recipe: Recipe
    run: RunDir
    resume: bool
    #: on resume, each key the recipe changes: (dotted key, value in the run's recipe, new value)
    changes: tuple[tuple[str, Any, Any], ...] = ()


def plan_training(target: str | Path, *, out: str | Path | None = None, overrides: Sequence[str] = (),
                  seed: int | None = None, resume: bool = False, allow_changes: Sequence[str] = ()) -> TrainingPlan:
    """Resolve ``gan train TARGET [--out RUN] [--set K=V ...] [--seed N] [--resume [--allow-changes K,...]]``.

    TARGET is a recipe file, or with ``--resume`` a run directory (or the recipe that made it, with
    ``--out RUN``). On resume the run's own ``recipe.yaml`` is the base; ``--set`` may change
    ``train.epochs``, ``train.steps``, ``sampling.*``, ``checkpoints.*``, ``eval.*``, ``health.*`` and
    ``logs.*``, and other keys only when ``allow_changes`` names them (a dotted key, or a section such as
    ``optimizers.generator``). Every change is returned in the plan for the run's ``changes.json``.

    Raises:
        RecipeError: the recipe or an override is invalid, or changes a run on resume.
        RunDirError: the run directory is missing, not a run, or (new run) not empty.
    """
    all_overrides = [*overrides, *([f"seed={seed}"] if seed is not None else [])]
    target = Path(target)
    if allow_changes and not resume:
        raise RecipeError("--allow-changes: only with --resume (a new run takes any recipe)")
    if not resume:
        if target.is_dir():
            raise RecipeError(f"{target}: is a directory; give a recipe .yaml, or add --resume to "
                              "continue that run")
        recipe = _absolute_data_path(load_recipe(recipe_path(target), all_overrides))  # a file or a shipped name
        root = Path(out) if out is not None else default_run_root(recipe.name or "run")
        if recipe.train.distribute == "multi_worker" and not chief_process():
            return TrainingPlan(recipe, RunDir(root), resume=False)  # the chief checks and writes the directory
        return TrainingPlan(recipe, new_run(root), resume=False)

    if not target.is_dir() and out is None:
        raise RunDirError(f"{target}: --resume continues a run directory: gan train RUN_DIR --resume "
                          "(or gan train RECIPE --out RUN_DIR --resume)")
    if target.is_dir() and out is not None and Path(out).resolve() != target.resolve():
        raise RunDirError(f"{target} and --out {out} name two different run directories; give one")
    run = open_run(out if out is not None else target)
    original = load_recipe(run.recipe)
    recipe = load_recipe(run.recipe, all_overrides)
    why = "--set changes the run"
    if not target.is_dir():
        recipe, why = _absolute_data_path(load_recipe(target, all_overrides)), f"{target} differs from the run's recipe"
    allowed = [key.strip() for text in allow_changes for key in text.split(",") if key.strip()]
    changes = _check_resumable(run, original, recipe, why, allowed)
    return TrainingPlan(recipe, run, resume=True, changes=changes)


def _absolute_data_path(recipe: Recipe) -> Recipe:
    """``data.path`` made absolute (relative paths are read from the current directory), so the run's
    own recipe.yaml finds the data again from anywhere."""
    if recipe.data.path is None:
        return recipe
    path = str(Path(recipe.data.path).expanduser().resolve())
    return dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, path=path))


def _check_resumable(run: RunDir, old: Recipe, new: Recipe, why: str,
                     allowed: Sequence[str]) -> tuple[tuple[str, Any, Any], ...]:
    """The changes from ``old`` to ``new`` as (key, old value, new value).

    Raises:
        RecipeError: a key outside RESUMABLE_KEYS changes and ``allowed`` does not name it (or its section), or
            ``allowed`` names a key that does not change.
    """
    changes = [c for c in recipe_changes(old, new) if c[0] not in ("name", "description")]  # labels, not training
    keys = [key for key, _, _ in changes]

    def listed(key: str) -> bool:
        return any(key == a or key.startswith(f"{a}.") for a in allowed)

    fixed = [k for k in keys if not k.startswith(RESUMABLE_KEYS) and k not in RESUMABLE_KEYS and not listed(k)]
    if fixed:
        raise RecipeError(f"{run.recipe}: {', '.join(fixed)}: {why}; a resumed run may change only "
                          "train.epochs, train.steps, sampling.*, checkpoints.*, eval.*, health.* and logs.*; to "
                          f"change the rest of this run add --allow-changes {','.join(fixed)} (recorded in "
                          "changes.json), or start a new run with another --out")
    unused = [a for a in allowed if not any(k == a or k.startswith(f"{a}.") for k in keys)]
    if unused:
        raise RecipeError(f"--allow-changes {','.join(unused)}: the resumed recipe does not change "
                          f"{'this key' if len(unused) == 1 else 'these keys'}; changed: "
                          f"{', '.join(keys) or 'nothing'}")
    return tuple(changes)



def chief_process() -> bool:
    """Whether ``TF_CONFIG`` (multi-worker training) makes this process the chief: task type ``chief``, or
    worker 0 of a cluster without one; true without ``TF_CONFIG``. Reads the JSON only (no TensorFlow)."""
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
        task, cluster = config.get("task", {}), config.get("cluster", {})
    except (ValueError, AttributeError):
        return True
    kind = task.get("type")
    return kind in (None, "chief") or (kind == "worker" and int(task.get("index", 0)) == 0 and "chief" not in cluster)
