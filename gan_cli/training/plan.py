"""What a ``gan train`` invocation means: which recipe, which run directory, new run or resume.

No TensorFlow here, so ``--dry-run`` and every recipe or run-directory error stay fast.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gan_cli.errors import RecipeError, RunDirError, UsageError
from gan_cli.recipe.loading import load_recipe, parse_recipe
from gan_cli.recipe.schema import RESUMABLE_KEYS, Recipe, flatten_keys, recipe_changes
from gan_cli.recipe.shipped import recipe_path
from gan_cli.runs.run_dir import (
    MANIFEST_SUFFIX,
    RunDir,
    committed_checkpoints,
    default_run_root,
    new_run,
    open_run,
    read_changes,
)

#: Where a change made on resume came from (``TrainingPlan.sources``, ``changes.json``): an edit of the run's
#: ``recipe.yaml`` since gan wrote it, or ``--set`` (and ``--seed``); a recipe file given with ``--out RUN`` is
#: named as ``recipe FILE``.
HAND_EDIT, SET = "recipe.yaml edited by hand", "--set"


@dataclass(frozen=True)
class TrainingPlan:
    """A validated recipe and the run directory it trains into."""

    recipe: Recipe
    run: RunDir
    resume: bool
    #: on resume, each key the recipe changes: (dotted key, value the run was trained with, new value)
    changes: tuple[tuple[str, Any, Any], ...] = ()
    #: where each changed key's new value came from: HAND_EDIT, SET or ``recipe FILE``
    sources: Mapping[str, str] = field(default_factory=dict, hash=False)


def plan_training(target: str | Path, *, out: str | Path | None = None, overrides: Sequence[str] = (),
                  seed: int | None = None, resume: bool = False, allow_changes: Sequence[str] = ()) -> TrainingPlan:
    """Resolve ``gan train TARGET [--out RUN] [--set K=V ...] [--seed N] [--resume [--allow-changes K,...]]``.

    TARGET is a recipe file, or with ``--resume`` a run directory (or the recipe that made it, with
    ``--out RUN``). On resume the run's own ``recipe.yaml`` is the base; ``--set`` may change
    ``train.epochs``, ``train.steps``, ``sampling.*``, ``checkpoints.*``, ``eval.*``, ``health.*`` and
    ``logs.*``, and other keys only when ``allow_changes`` names them (a dotted key, or a section such as
    ``optimizers.generator``). Every change is returned in the plan for the run's ``changes.json``.

    The base a resume is compared with is the recipe the run was trained with: the one its newest checkpoint's
    manifest records, with the changes ``changes.json`` records since. So an edit of ``RUN/recipe.yaml`` by hand
    is a change like ``--set``, refused or allowed and recorded in the same way. A run without such a record (no
    checkpoint yet, or checkpoints made before gan recorded recipes) is compared with its ``recipe.yaml``.

    Raises:
        RecipeError: the recipe or an override is invalid, or changes a run on resume.
        RunDirError: the run directory is missing, not a run, or (new run) not empty.
    """
    all_overrides = [*overrides, *([f"seed={seed}"] if seed is not None else [])]
    target = Path(target)
    if allow_changes and not resume:
        raise UsageError("--allow-changes: only with --resume (a new run takes any recipe)")
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
    edited = load_recipe(run.recipe)  # as it is now: maybe edited by hand
    trained = trained_recipe(run)
    original = trained if trained is not None else edited
    by_hand = {key: value for key, _, value in recipe_changes(original, edited)}
    from_file = None if target.is_dir() else f"recipe {target}"
    if from_file is None:
        recipe = load_recipe(run.recipe, all_overrides)
    else:
        recipe = _absolute_data_path(load_recipe(target, all_overrides))

    def source(key: str, value: Any) -> str:
        if from_file is not None:
            return from_file
        return HAND_EDIT if key in by_hand and by_hand[key] == value else SET

    allowed = [key.strip() for text in allow_changes for key in text.split(",") if key.strip()]
    changes, sources = _check_resumable(run, original, recipe, allowed, source)
    return TrainingPlan(recipe, run, resume=True, changes=changes, sources=sources)


def trained_recipe(run: RunDir) -> Recipe | None:
    """The recipe the run's newest checkpoint was trained with, as its manifest records it, with the changes
    ``changes.json`` records from that step on (made by resumes since); gan wrote it as ``recipe.yaml``, so any
    difference from that file is a hand edit. None when the newest checkpoint records no recipe (there is none
    yet, or gan made it before recipes were recorded).

    Raises:
        RecipeError: the recorded recipe does not validate (naming the manifest).
    """
    committed = committed_checkpoints(run.checkpoints)
    if not committed or not isinstance(committed[0][2].get("recipe"), dict):
        return None
    step, prefix, manifest = committed[0]
    flat = flatten_keys(manifest["recipe"])
    for entry in read_changes(run):
        if isinstance(entry.get("step"), int) and entry["step"] >= step and isinstance(entry.get("changes"), dict):
            flat.update({key: change.get("to") for key, change in entry["changes"].items() if isinstance(change, dict)})
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        *sections, name = key.split(".")
        where = nested
        for section in sections:
            where = where.setdefault(section, {})
        where[name] = value
    return parse_recipe(nested, source=f"{prefix}{MANIFEST_SUFFIX} (the recipe its checkpoint was trained with)")


def _absolute_data_path(recipe: Recipe) -> Recipe:
    """``data.path`` made absolute (relative paths are read from the current directory), so the run's
    own recipe.yaml finds the data again from anywhere."""
    if recipe.data.path is None:
        return recipe
    path = str(Path(recipe.data.path).expanduser().resolve())
    return dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, path=path))


def _check_resumable(run: RunDir, old: Recipe, new: Recipe, allowed: Sequence[str],
                     source: Callable[[str, Any], str]) -> tuple[tuple[tuple[str, Any, Any], ...], dict[str, str]]:
    """The changes from ``old`` to ``new`` as (key, old value, new value), and where each came from
    (``source(key, new value)``).

    Raises:
        RecipeError: a key outside RESUMABLE_KEYS changes and ``allowed`` does not name it (or its section),
            naming each such key with its old and new value and where the change came from; or ``allowed``
            names a key that does not change.
    """
    changes = [c for c in recipe_changes(old, new) if c[0] not in ("name", "description")]  # labels, not training
    keys = [key for key, _, _ in changes]
    sources = {key: source(key, value) for key, _, value in changes}

    def listed(key: str) -> bool:
        return any(key == a or key.startswith(f"{a}.") for a in allowed)

    fixed = [k for k in keys if not k.startswith(RESUMABLE_KEYS) and k not in RESUMABLE_KEYS and not listed(k)]
    if fixed:
        named = ", ".join(f"{key} {_value_text(was)} -> {_value_text(now)} ({sources[key]})"
                          for key, was, now in changes if key in fixed)
        undo = f", undo the hand edit of {run.recipe}" if any(sources[key] == HAND_EDIT for key in fixed) else ""
        raise RecipeError(f"{run.recipe}: {named}: a resumed run may change only "
                          "train.epochs, train.steps, sampling.*, checkpoints.*, eval.*, health.* and logs.*; to "
                          f"change the rest of this run add --allow-changes {','.join(fixed)} (recorded in "
                          f"changes.json){undo}, or start a new run with another --out")
    unused = [a for a in allowed if not any(k == a or k.startswith(f"{a}.") for k in keys)]
    if unused:
        raise RecipeError(f"--allow-changes {','.join(unused)}: the resumed recipe does not change "
                          f"{'this key' if len(unused) == 1 else 'these keys'}; changed: "
                          f"{', '.join(keys) or 'nothing'}")
    return tuple(changes), sources


def _value_text(value: Any, limit: int = 60) -> str:
    """A recipe value as one short line of YAML-like text (JSON: null, true, [16, 32]) for an error message."""
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."



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
