"""Starting a run, or picking it up from its latest checkpoint: the part every training loop shares."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gan_cli.checkpoints import CheckpointStore
from gan_cli.files import write_atomic
from gan_cli.plan import TrainingPlan
from gan_cli.recipe import dump_recipe
from gan_cli.run_dir import read_metrics


def begin(plan: TrainingPlan, store: CheckpointStore, per_epoch: int, total: int,
          echo: Callable[[str], None]) -> tuple[int, list[dict[str, Any]], float] | dict[str, Any]:
    """Restore the latest checkpoint of a resumed run (a new run starts at 0) and write ``recipe.yaml``.

    Returns:
        ``(step, metric rows up to that step, seconds trained before)``; or, when the run already reached
        ``total`` steps, its summary (nothing is written then).
    """
    run = plan.run
    if not plan.resume:
        write_atomic(run.recipe, dump_recipe(plan.recipe))  # creates the run directory
        return 0, [], 0.0
    step, metric_rows, seconds_before = 0, [], 0.0
    restored = store.restore_latest()
    if restored is None:
        echo(f"{run.root} has no checkpoint yet; training it from step 0")
    else:
        step = restored
        metric_rows = [r for r in read_metrics(run.metrics) if r["step"] <= step]
        seconds_before = metric_rows[-1]["seconds"] if metric_rows else 0.0
    if step >= total:
        echo(f"{run.root} already finished at step {step} of {total}; nothing to do (raise "
             "train.epochs or train.steps with --set to train further)")
        return json.loads(run.summary.read_text()) if run.summary.is_file() else {"steps": step}
    if restored is not None:
        echo(f"resuming {run.root} at step {step} (epoch {step / per_epoch:.2f})")
    write_atomic(run.recipe, dump_recipe(plan.recipe))
    return step, metric_rows, seconds_before
