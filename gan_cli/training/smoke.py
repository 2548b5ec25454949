"""Smoke training (``gan train RECIPE --smoke``): a recipe end to end in seconds, then a check that the run
directory is complete. Meant for CI of shared recipes.

A smoke run is the recipe with :data:`SMOKE_OVERRIDES` applied before the user's own ``--set``: the same
networks, losses and data source, but a few steps of small batches on the first images, no evaluation and no
distribution. It passes when training finishes and :func:`check_run` finds everything ``gan sample``,
``gan eval`` and ``--resume`` rely on. TensorFlow is imported only when training starts.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gan_cli.errors import RunDirError
from gan_cli.files import read_json
from gan_cli.recipe.schema import TRANSLATION_FAMILIES, Recipe
from gan_cli.runs.run_dir import RunDir, read_metrics
from gan_cli.training.plan import plan_training

#: Steps of a smoke run.
SMOKE_STEPS = 4
#: What ``--smoke`` means, as ``--set`` overrides (the user's ``--set`` come after and win). ``data.limit``
#: leaves at least one step per epoch for ``train.d_steps`` up to 100 at batch size 8.
SMOKE_OVERRIDES = ("train.epochs=1", f"train.steps={SMOKE_STEPS}", "train.batch_size=8", "train.steps_per_call=1",
                   "train.distribute=none", "data.limit=800", "eval.every=null")


class SmokeCheckFailed(RunDirError):
    """A smoke run trained but left its run directory incomplete."""


@dataclass(frozen=True)
class SmokeResult:
    """What a passed smoke run checked, and where its run directory is (None once a temporary one is removed)."""

    recipe: str
    checks: tuple[str, ...]
    run: Path | None


def smoke_train(target: str | Path, *, out: str | Path | None = None, overrides: Sequence[str] = (),
                seed: int | None = None, echo: Callable[[str], None] = print,
                progress: bool | None = None) -> SmokeResult:
    """Train a recipe for :data:`SMOKE_STEPS` steps into ``out`` and check the run directory.

    Without ``out`` the run goes to a fresh temporary directory, removed after a passed check and kept
    (its path was echoed first) when training wrote something and then failed.

    Args:
        target: a recipe file or a shipped recipe's name.
        out: the run directory (must be absent or empty).
        overrides: the user's ``--set KEY=VALUE``, applied after :data:`SMOKE_OVERRIDES`.
        seed: ``--seed``.
        echo: where progress lines go.
        progress: tqdm bars (None: only on a terminal).

    Raises:
        RecipeError, DataError, RunDirError, TrainingDiverged: as ``gan train`` (data not available offline
            fails with the data source's one-line error).
        SmokeCheckFailed: training finished but the run directory lacks something.
    """
    temporary: Path | None = None
    if out is None:
        temporary = Path(tempfile.mkdtemp(prefix="gan-smoke-"))
        root = temporary / "run"
    else:
        root = Path(out)
    try:
        plan = plan_training(target, out=root, overrides=(*SMOKE_OVERRIDES, *overrides), seed=seed)
        echo(f"smoke-training {plan.recipe.name} ({SMOKE_STEPS} steps of {plan.recipe.train.batch_size}) "
             f"into {plan.run.root}")
        from gan_cli.training.trainer import train  # TensorFlow

        train(plan, echo=echo, progress=progress)
        checks = check_run(plan.run, plan.recipe)
    except BaseException:
        if temporary is not None and not any(root.iterdir() if root.is_dir() else ()):
            shutil.rmtree(temporary, ignore_errors=True)
        raise
    if temporary is not None:
        shutil.rmtree(temporary, ignore_errors=True)
    return SmokeResult(plan.recipe.name, tuple(checks), None if temporary is not None else plan.run.root)


def check_run(run: RunDir, recipe: Recipe) -> list[str]:
    """Check that a finished run directory holds what the other verbs need.

    Checked: the resolved recipe; a committed checkpoint whose files match its manifest's sha256, at the
    final step; the exported generator (and CycleGAN's inverse), which must load and draw images; a
    sample grid; metrics rows with finite losses; a finished ``summary.json``.

    Returns:
        One line per check passed.

    Raises:
        SmokeCheckFailed: the first check that fails, naming the file.
    """
    from gan_cli.runs.checkpoints import committed_checkpoints, verify_checkpoint  # TensorFlow

    def fail(problem: str) -> SmokeCheckFailed:
        return SmokeCheckFailed(f"{run.root}: smoke check failed: {problem}")

    checks: list[str] = []
    if not run.recipe.is_file():
        raise fail(f"{run.recipe.name} missing")
    checks.append(f"{run.recipe.name}: the resolved recipe")
    try:
        summary = read_json(run.summary)
    except (OSError, ValueError) as exc:
        raise fail(f"{run.summary.name} missing or unreadable ({exc})") from None
    if not summary.get("finished") or not summary.get("steps"):
        raise fail(f"{run.summary.name} does not record a finished run: {summary}")
    steps = int(summary["steps"])
    checks.append(f"{run.summary.name}: finished after {steps} steps")
    committed = committed_checkpoints(run.checkpoints)
    if not committed:
        raise fail(f"no checkpoint with a manifest in {run.checkpoints}")
    step, prefix, manifest = max(committed, key=lambda c: c[0])
    problem = verify_checkpoint(prefix, manifest)
    if problem is not None:
        raise fail(problem)
    if step != steps:
        raise fail(f"the newest checkpoint is at step {step}, the run finished at step {steps}")
    checks.append(f"checkpoints/{prefix.name}: {len(manifest['sha256'])} files match their manifest's sha256, "
                  f"step {step}")
    rows = read_metrics(run.metrics)
    if not rows:
        raise fail(f"{run.metrics.name} missing or without rows")
    losses = [row[key] for row in rows for key in ("d_loss", "g_loss") if key in row]
    if not losses or not all(math.isfinite(v) for v in losses):
        raise fail(f"{run.metrics.name}: d_loss/g_loss missing or not finite")
    checks.append(f"{run.metrics.name}: {len(rows)} row(s), finite losses")
    grids = sorted(run.samples.glob("*.png")) if run.samples.is_dir() else []
    if not grids:
        raise fail(f"no sample grid in {run.samples}")
    checks.append(f"samples/{grids[-1].name}: a sample grid")
    checks.extend(_check_generators(run, recipe, fail))
    return checks


def _check_generators(run: RunDir, recipe: Recipe, fail: Callable[[str], SmokeCheckFailed]) -> list[str]:
    """The exported generators load (safe mode) and draw images, as ``gan sample`` does."""
    from gan_cli.errors import GanError
    from gan_cli.sampling import sample, translate  # TensorFlow

    translation = recipe.family in TRANSLATION_FAMILIES
    models = [("a2b", run.generator)] + ([("b2a", run.inverse_generator)] if recipe.family == "cyclegan" else [])
    checks = []
    with tempfile.TemporaryDirectory(prefix="gan-smoke-sample-") as scratch:
        for direction, path in models:
            if not path.is_file():
                raise fail(f"{path.name} missing")
            out = Path(scratch) / f"{direction}.png"
            try:
                if translation:
                    translate(run.root, out, source=None, direction=direction, count=2)
                else:
                    sample(run.root, out, count=4, grid=None, seed=0)
            except GanError as exc:
                raise fail(f"{path.name} does not sample: {exc}") from None
            checks.append(f"{path.name}: loads and {'translates' if translation else 'draws'} images")
    return checks
