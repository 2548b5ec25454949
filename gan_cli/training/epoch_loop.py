"""What every training loop does around its steps: start or resume a run (:func:`begin`), then one linear loop
(:meth:`EpochLoop.go`) that at the end of each epoch (or at a step cap) measures, logs, keeps the best generator,
writes grids, checkpoints, and at the end writes the summary.

What differs between the GAN families and the image-to-image ones (the steps themselves, what to measure, the
sample grid, the exported models, the summary's family part) comes from a :class:`Stepper`
(``trainer.py``, ``translation_trainer.py``).
"""

from __future__ import annotations

import json
import math
import resource
import signal
import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from gan_cli import __version__
from gan_cli.errors import TrainingDiverged, TrainingInterrupted, WriteError
from gan_cli.families.interface import Family
from gan_cli.families.optimizers import set_learning_rates
from gan_cli.files import read_json_object, write_atomic
from gan_cli.recipe.schema import Recipe, dump_recipe
from gan_cli.runs.checkpoints import CheckpointStore
from gan_cli.runs.export import portable_model
from gan_cli.runs.images import save_png
from gan_cli.runs.plots import plot_loss_curves
from gan_cli.runs.progress_gif import update_progress_gif
from gan_cli.runs.run_dir import RunDir, median_row_ms, read_changes, read_metrics, write_json, write_metrics
from gan_cli.runs.tensorboard_log import TensorBoardLog
from gan_cli.training.epoch_eval import EpochEvaluation
from gan_cli.training.plan import TrainingPlan

#: Steps at the start of an invocation left out of ``ms_per_step`` (tracing, warm caches).
WARMUP_STEPS = 10


def begin(plan: TrainingPlan, store: CheckpointStore, per_epoch: int, total: int,
          echo: Callable[[str], None], chief: bool = True
          ) -> tuple[int, list[dict[str, Any]], float, dict[str, Any]] | dict[str, Any]:
    """Restore the latest intact checkpoint of a resumed run (a new run starts at 0) and write ``recipe.yaml``.

    A non-chief multi-worker process (``chief`` False) writes nothing and restores from the chief's
    checkpoints.

    Returns:
        ``(step, metric rows up to that step, seconds trained before, the loop state saved with the
        checkpoint)``; or, when the run already finished (its summary says so), that summary (nothing is
        written then). A run whose last checkpoint is at ``total`` but which stopped before its summary was
        written gets the tuple, and ``EpochLoop.go`` writes what the end of training writes.
    """
    run = plan.run
    store.recipe = plan.recipe  # each checkpoint's manifest records the recipe it was trained with
    if not chief:
        restored_step = store.restore_from(run.checkpoints) if plan.resume else None
        return (restored_step or 0), [], 0.0, {}
    if not plan.resume:
        write_atomic(run.recipe, dump_recipe(plan.recipe))  # creates the run directory
        return 0, [], 0.0, {}
    step, metric_rows, seconds_before = 0, [], 0.0
    loop_state: dict[str, Any] = {}
    restored = store.restore_latest(warn=echo)
    if restored is None:
        echo(f"{run.root} has no checkpoint yet; training it from step 0")
    else:
        step, loop_state = restored
        metric_rows = [r for r in read_metrics(run.metrics) if r["step"] <= step]
        seconds_before = metric_rows[-1]["seconds"] if metric_rows else 0.0
    if step >= total:
        summary = read_json_object(run.summary)
        if summary.get("finished") and summary.get("steps", -1) >= step:
            echo(f"{run.root} already finished at step {step} of {total}; nothing to do (raise "
                 "train.epochs or train.steps with --set to train further)")
            return summary
        # stopped (e.g. killed) after its last checkpoint but before the files that follow it: go() writes them
        echo(f"{run.root} reached step {step} of {total} but stopped before writing its final files; writing them")
    if restored is not None:
        echo(f"resuming {run.root} at step {step} (epoch {step / per_epoch:.2f})")
    if plan.changes:
        _record_changes(run, step, plan.changes, plan.sources)
        echo(f"recipe changes from step {step}: "
             + ", ".join(f"{key} {old!r} -> {new!r}" + (f" ({plan.sources[key]})" if key in plan.sources else "")
                         for key, old, new in plan.changes))
    write_atomic(run.recipe, dump_recipe(plan.recipe))
    return step, metric_rows, seconds_before, loop_state


def _record_changes(run: RunDir, step: int, changes: Sequence[tuple[str, Any, Any]],
                    sources: Mapping[str, str] | None = None) -> None:
    """Append one entry (step, UTC time, each key's old and new value, and under ``sources`` where each came
    from: ``--set``, ``recipe.yaml edited by hand`` or ``recipe FILE``) to the run's ``changes.json``.

    The entries from a checkpoint's step on are part of the recipe that checkpoint resumes with
    (``plan.trained_recipe``).
    """
    entries = read_changes(run)
    entries.append({"step": step, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "changes": {key: {"from": old, "to": new} for key, old, new in changes},
                    **({"sources": {key: sources[key] for key, _, _ in changes if key in sources}} if sources else {})})
    write_atomic(run.changes, json.dumps(entries, indent=2) + "\n")


def warmup_steps(count: int) -> int:
    """How many of ``count`` timed steps :func:`median_ms` leaves out: the first ``WARMUP_STEPS`` when more
    than twice as many were timed, else only the first (tracing) while another is left, else none."""
    if count > 2 * WARMUP_STEPS:
        return WARMUP_STEPS
    return 1 if count > 1 else 0


def median_ms(step_seconds: Sequence[float]) -> float | None:
    """Median milliseconds per step after the first :func:`warmup_steps` steps; None when none were timed."""
    timed = step_seconds[warmup_steps(len(step_seconds)):]
    return round(1000 * statistics.median(timed), 3) if timed else None


def median_ms_note(count: int) -> str:
    """``summary.json``'s words for which of this invocation's ``count`` timed steps :func:`median_ms` used."""
    left_out = warmup_steps(count)
    if count == 0:
        return "this invocation timed no steps"
    if left_out == 0:
        return "the only step of this invocation (nothing left out)"
    if left_out == 1:
        return (f"median over this invocation's steps after the first step (a run of {count} steps; "
                f"{2 * WARMUP_STEPS} or fewer leave out only the first)")
    return f"median over this invocation's steps after the first {left_out} steps (of {count})"


def _due(period: int | None, number: int, finished_epoch: bool, done: bool, first: bool = False) -> bool:
    """Whether something done every ``period`` epochs (and at the end; with ``first`` also after epoch 1)
    is due after epoch ``number``; never when ``period`` is None or 0."""
    return bool(period) and (done or (finished_epoch and ((first and number == 1) or number % (period or 1) == 0)))


#: ``(index in epoch, count, global step) -> each step's values``: trains ``count`` consecutive steps.
StepFunction = Callable[[int, int, int], list[dict[str, float]]]


class Stepper(Protocol):
    """What one kind of family gives the epoch loop: its steps and what to show and keep after them. The GAN
    families' is :class:`gan_cli.training.trainer.GanStepper`; pix2pix's and CycleGAN's is
    :class:`gan_cli.training.translation_trainer.TranslationStepper`."""

    @property
    def models(self) -> Family:
        """The family's models (their generator is kept in ``best/``; their optimizers take the learning rates)."""
        ...

    @property
    def columns(self) -> Sequence[str]:
        """The columns of ``metrics.csv``."""
        ...

    @property
    def fake_score_label(self) -> str:
        """How the epoch line names D's mean score of the fakes."""
        ...

    @property
    def steps_per_call(self) -> int:
        """The most consecutive steps one call of :meth:`epoch_steps`' function may train."""
        ...

    @property
    def evaluation(self) -> EpochEvaluation:
        """The measurements at epoch ends (``eval.every``)."""
        ...

    def epoch_steps(self, epoch: int, first: int, last: int, step: int) -> StepFunction:
        """A function ``(index in epoch, count, global step) -> each step's values`` that trains ``count``
        consecutive steps of ``epoch``, which will run from its ``first`` to ``last`` index starting at global
        ``step``."""
        ...

    def inspect(self, row: dict[str, Any], evaluate_now: bool) -> dict[str, Any]:
        """Columns measured after the epoch's steps (``fd`` when ``evaluate_now``; ``health`` warnings)."""
        ...

    @property
    def sampler(self) -> keras.Model:
        """The generator whose samples the user sees (grids, evaluation, ``best/``): G, or its moving average."""
        ...

    def grid(self) -> np.ndarray:
        """The sample grid of the fixed inputs, as a uint8 picture."""
        ...

    def export(self, run: RunDir) -> None:
        """Write the run's portable generators (``generator.keras``, and CycleGAN's ``generator_b2a.keras``)."""
        ...

    def results(self, last: dict[str, Any]) -> dict[str, Any]:
        """``summary.json``'s part about this family: final losses, data, parameter counts (``last``: last row)."""
        ...

    def state(self) -> dict[str, Any]:
        """What the stepper must carry over a resume (saved in each checkpoint's manifest)."""
        ...

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint manifest's loop state."""
        ...


class EpochLoop:
    """One ``train`` invocation's cadence around the stepper's steps: per epoch, train, measure, log, keep the
    best generator, write the grid, checkpoint and export; then the summary.

    Args:
        recipe, run, store: the run's recipe, directory and checkpoint store.
        stepper: trains the steps and shows what they made.
        per_epoch, total: steps per epoch and in all (``train.steps`` may end inside an epoch).
        echo, progress: where lines go; whether to show a tqdm bar per epoch (None: on a terminal).
        chief: False on non-chief multi-worker processes: they train and checkpoint to scratch, the chief
            writes the run.
    """

    def __init__(self, recipe: Recipe, run: RunDir, store: CheckpointStore, stepper: Stepper, per_epoch: int,
                 total: int, echo: Callable[[str], None], progress: bool | None, chief: bool = True) -> None:
        self.recipe, self.run, self.store, self.stepper = recipe, run, store, stepper
        self.per_epoch, self.total = per_epoch, total
        self.echo, self.progress, self.chief = echo, progress, chief
        #: seconds of each step this invocation trained
        self.step_seconds: list[float] = []
        self.best_fd = math.inf
        #: the signal (SIGINT, SIGTERM) that asked training to stop after the current step, if any
        self.stop_signal: int | None = None
        #: divergence rollbacks so far, and the learning-rate factor they left (both saved with each checkpoint)
        self.rollbacks = 0
        self.lr_scale = 1.0
        #: TensorBoard events of the rows and grids as they are written (none before :meth:`go` opens it, on
        #: non-chiefs, or with ``logs.tensorboard: false``)
        self.board = TensorBoardLog(None)

    def go(self, step: int, metric_rows: list[dict[str, Any]], seconds_before: float,
           loop_state: dict[str, Any] | None = None) -> dict[str, Any]:
        """Train from ``step`` to the end; returns the summary (also written to ``summary.json``).

        ``loop_state`` is what :meth:`_loop_state` saved with the checkpoint being resumed. SIGINT and SIGTERM
        stop training after the current step with a checkpoint there (a second Ctrl-C stops at once); a signal
        that arrives after an epoch's last step lets that epoch's end (measurements, grid, checkpoint) finish
        first, so a resumed run does exactly what an uninterrupted one does.

        Raises:
            TrainingDiverged: a loss or weight became NaN or infinite, and ``health.on_divergence`` is ``stop``
                or its rollbacks are used up (the last good checkpoint is kept).
            TrainingInterrupted: SIGINT (exit code 130) or SIGTERM (143), after saving a checkpoint.
            WriteError, RunDirError: a file cannot be written (the last complete checkpoint is intact).
        """
        started = time.perf_counter()
        last_saved = self.store.latest
        self.best_fd = self._previous_best()
        self._load_loop_state(loop_state or {})
        self._set_learning_rates()
        every = self.recipe
        previous_handlers = self._catch_stop_signals()
        if step >= self.total and self.chief:  # resumed after the last checkpoint: redo what follows it
            self._export(step)
            plot_loss_curves(metric_rows, self.run.loss_curves, title=self.recipe.name)
        self.board = TensorBoardLog(self.run.tensorboard if self.chief and self.recipe.logs.tensorboard else None)
        try:
            while step < self.total:
                if self.stop_signal is not None:  # arrived before the first step or during the last epoch's end
                    self._stop(None, step, metric_rows, last_saved)
                epoch = step // self.per_epoch
                row, step = self._steps(epoch, step, seconds_before + time.perf_counter() - started)
                finished_epoch = step % self.per_epoch == 0
                done = step >= self.total
                if self.stop_signal is not None and (row["steps_in_row"] == 0 or not (finished_epoch or done)):
                    self._stop(row, step, metric_rows, last_saved)  # mid-epoch: its end is not reached yet
                number = epoch + 1
                end = (number, finished_epoch, done)
                if self.chief:
                    row.update(self.stepper.inspect(row, _due(every.eval.every, *end)))
                problem = self._divergence(row, weights=_due(every.checkpoints.every_epochs, *end))
                if problem is not None:
                    step = self._roll_back(problem, number, last_saved, row, metric_rows)
                    continue
                self._report(row, number, metric_rows)
                self._keep_if_best(row, step)
                wrote_grid = self.chief and _due(every.sampling.every_epochs, *end, first=True)
                if wrote_grid:
                    self.board.log_grid(self._write_grid(step), step)
                if _due(every.checkpoints.every_epochs, *end):
                    # every worker saves (non-chiefs to a scratch folder)
                    last_saved = self.store.save(step, self._loop_state())
                    if self.chief:
                        self._export(step)
                if self.chief and (wrote_grid or done):
                    plot_loss_curves(metric_rows, self.run.loss_curves, title=self.recipe.name)
        except KeyboardInterrupt:
            where = f"checkpoint {last_saved}" if last_saved else "no checkpoint yet"
            raise TrainingInterrupted(f"interrupted; kept {where}; continue with: "
                                      f"gan train {self.run.root} --resume") from None
        except WriteError as exc:
            kept = f"the last complete checkpoint {last_saved} is intact" if last_saved else "no checkpoint yet"
            raise WriteError(f"{exc}; {kept}; free disk space or fix permissions, then continue with: "
                             f"gan train {self.run.root} --resume") from None
        finally:
            self.board.close()
            for number, handler in previous_handlers.items():
                signal.signal(number, handler)
        elapsed = seconds_before + time.perf_counter() - started
        summary = self._summary(step, elapsed, metric_rows)
        if self.chief:
            write_json(self.run.summary, summary)
            if self.recipe.logs.progress_gif:
                update_progress_gif(self.run, self.per_epoch)
        speed = f" ({summary['ms_per_step']:.1f} ms/step)" if summary["ms_per_step"] is not None else ""
        self.echo(f"done: {step} steps in {elapsed:.1f} s{speed}; run directory {self.run.root}")
        return summary

    def _report(self, row: dict[str, Any], number: int, metric_rows: list[dict[str, Any]]) -> None:
        """Record epoch ``number``'s row (``metrics.csv``, TensorBoard) and echo its line and health warnings."""
        self._add_row(row, metric_rows)
        self.board.log_row(row)
        self.echo(self._line(row))
        for symptom in filter(None, str(row.get("health", "")).split("; ")):
            self.echo(f"warning: epoch {number}: {symptom}")

    def _keep_if_best(self, row: dict[str, Any], step: int) -> None:
        """When the row's FD beats the best so far, snapshot the generator in ``best/`` with how it was measured."""
        if "fd" in row and row["fd"] < self.best_fd:
            self.best_fd = row["fd"]
            self.store.write_snapshot(self.run.best, step, portable_model(self.stepper.sampler),
                                      {"fd": row["fd"], "step": step, "epoch": step / self.per_epoch,
                                       **self._eval_protocol()})

    def _steps(self, epoch: int, step: int, seconds_so_far: float) -> tuple[dict[str, Any], int]:
        """Train from ``step`` to the end of ``epoch`` (or the step cap) under a tqdm bar: the stepper's function
        for the epoch, called for ``count`` consecutive steps at a time (at most ``steps_per_call``), each call
        timed. Returns the row (epoch, step, the mean of every value the steps returned, cumulative seconds,
        ms per step) and the new step."""
        first = step - epoch * self.per_epoch
        last = min(self.per_epoch, self.total - epoch * self.per_epoch)
        run_steps = self.stepper.epoch_steps(epoch, first, last, step)
        per_call = self.stepper.steps_per_call
        sums: dict[str, float] = {}
        bar = tqdm(total=self.per_epoch, initial=first, desc=f"epoch {epoch + 1}/{self.recipe.train.epochs}",
                   unit="step", leave=False, disable=None if self.progress is None else not self.progress)
        began = time.perf_counter()
        try:
            index = first
            while index < last and self.stop_signal is None:
                count = min(per_call, last - index)
                tick = time.perf_counter()
                results = run_steps(index, count, step)
                self.step_seconds.extend([(time.perf_counter() - tick) / count] * count)
                step += count
                index += count
                for values in results:
                    for key, value in values.items():
                        sums[key] = sums.get(key, 0.0) + value
                bar.update(count)
                done = index - first
                fakes = self.stepper.fake_score_label
                bar.set_postfix_str(f"d_loss {sums['d_loss'] / done:.3f}  g_loss {sums['g_loss'] / done:.3f}  D(x) "
                                    f"{sums['d_real'] / done:.2f}  {fakes} {sums['d_fake'] / done:.2f}")
        finally:
            bar.close()
        count = index - first
        seconds = time.perf_counter() - began
        row = {"epoch": epoch + 1, "step": step, "steps_in_row": count,
               **{key: value / max(count, 1) for key, value in sums.items()},
               "seconds": seconds_so_far + seconds, "ms_per_step": 1000 * seconds / max(count, 1)}
        return row, step

    def _write_grid(self, step: int) -> Path:
        """Write the sample grid of ``step`` (``RUN/samples/epoch_NNNN.png``, or ``step_NNNNNNN.png`` inside an
        epoch) and return its path."""
        return save_png(self.run.sample_grid_at(step, self.per_epoch), self.stepper.grid())

    def _line(self, row: dict[str, Any]) -> str:
        """The epoch's summary line: losses (and any extra loss terms), D's mean scores, speed, and the
        measurements of the row (validation L1, FD, classes covered) when present."""
        terms = "".join(f"  {k} {row[k]:.4f}" for k in ("g_adv", "l1", "fm", "cycle", "identity") if k in row)
        line = (f"epoch {int(row['epoch'])}/{self.recipe.train.epochs}  step {int(row['step'])}  "
                f"d_loss {row['d_loss']:.4f}  g_loss {row['g_loss']:.4f}{terms}  D(x) {row['d_real']:.3f}  "
                f"{self.stepper.fake_score_label} {row['d_fake']:.3f}  {row['ms_per_step']:.1f} ms/step")
        if "augment_p" in row:
            line += f"  ADA p {row['augment_p']:.3f}"
        if "val_l1" in row:
            line += f"  val L1 {row['val_l1']:.4f}"
        if "fd" in row:
            line += f"  FD {row['fd']:.3f}"
        if "classes_covered" in row:
            line += f"  classes {int(row['classes_covered'])}"
        return line

    def _summary(self, step: int, seconds: float, metric_rows: list[dict[str, Any]]) -> dict[str, Any]:
        """``summary.json``: how far and how fast, the data, the checkpoint, the best FD, versions, and the
        loop's own ``_results``."""
        speed: dict[str, Any] = {
            "ms_per_step": median_ms(self.step_seconds),
            "ms_per_step_note": median_ms_note(len(self.step_seconds))}
        from_rows = median_row_ms(metric_rows)
        if not self.step_seconds and from_rows is not None:  # an invocation that only wrote the final files
            speed = {"ms_per_step": round(from_rows, 3),
                     "ms_per_step_note": "median of the rows of metrics.csv after the first (this invocation "
                                         "trained no steps)"}
        return {
            "name": self.recipe.name,
            "family": self.recipe.family,
            "steps": step,
            "epochs": step // self.per_epoch,
            "steps_per_epoch": self.per_epoch,
            "finished": step >= self.total,
            "seconds": round(seconds, 3),
            **speed,
            "precision": keras.mixed_precision.global_policy().name,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            **self.stepper.results(metric_rows[-1] if metric_rows else {}),
            "checkpoint": self.store.latest,
            "best": {"fd": self.best_fd, "directory": str(self.run.best)} if math.isfinite(self.best_fd) else None,
            "versions": {"gan": __version__, "keras": keras.__version__, "tensorflow": tf.__version__},
        }

    def _export(self, step: int) -> None:
        """Export the generator(s) (portable, atomically) beside each checkpoint, with the step they were made at."""
        self.stepper.export(self.run)
        write_json(self.run.generator_info, {"step": step, "epoch": step / self.per_epoch})

    def _eval_protocol(self) -> dict[str, Any]:
        """How ``best/``'s FD was measured (its ``generator.json`` records it)."""
        return {"n": self.recipe.eval.n, "against": self.recipe.eval.against,
                "evaluator_id": self.stepper.evaluation.evaluator_id}

    def _previous_best(self) -> float:
        """The FD of ``best/`` when resuming under the same evaluation protocol; else infinity."""
        info = read_json_object(RunDir(self.run.best).generator_info)
        if "fd" not in info:
            return math.inf
        same = (info.get("n"), info.get("against")) == (self.recipe.eval.n, self.recipe.eval.against)
        return float(info["fd"]) if same else math.inf

    # ----------------------------------------------------------------------------------------------
    # Stopping on a signal, divergence, and the state saved beside each checkpoint

    def _catch_stop_signals(self) -> dict[int, Any]:
        """Make SIGINT and SIGTERM set :attr:`stop_signal` (the loop then saves and stops after the current
        step); a second SIGINT raises KeyboardInterrupt at once. Returns the handlers to put back."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handler(number: int, _frame: Any) -> None:
            if self.stop_signal is not None and number == signal.SIGINT:
                raise KeyboardInterrupt
            self.stop_signal = number
            self.echo(f"{signal.Signals(number).name}: stopping after the current step and saving a checkpoint"
                      + (" (Ctrl-C again to stop at once)" if number == signal.SIGINT else ""))

        self.stop_signal = None
        return {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}

    def _stop(self, row: dict[str, Any] | None, step: int, metric_rows: list[dict[str, Any]],
              last_saved: str | None) -> None:
        """After a stop signal: record the partial epoch's ``row`` (None: no step since the last row), make sure a
        checkpoint holds ``step`` (unless something is non-finite), and raise TrainingInterrupted with exit code
        128 + the signal's number, naming the checkpoint and its step.

        The signal may have landed anywhere: before the first step, between steps, or during the measurements,
        grids or checkpoint of an epoch's end; the loop only calls this between those, so ``step`` is always
        the last completed step.
        """
        assert self.stop_signal is not None
        if row is not None and row["steps_in_row"] > 0:
            self._add_row(row, metric_rows)
            self.board.log_row(row)
        problem = self._divergence(row, weights=True) if row is not None and row["steps_in_row"] > 0 else None
        if problem is None:
            saved = self.store.save(step, self._loop_state())  # keeps a checkpoint already committed at step
            if self.chief and saved != last_saved:
                self._export(step)
            where = f"saved checkpoint {Path(saved).name} (step {step})"
        else:
            kept = f"{Path(last_saved).name} is kept" if last_saved else "no checkpoint was written"
            where = f"not saved ({problem}); the last good checkpoint {kept}"
        name = signal.Signals(self.stop_signal).name
        raise TrainingInterrupted(f"stopped by {name} at step {step} (epoch {step / self.per_epoch:.2f}); {where}; "
                                  f"continue with: gan train {self.run.root} --resume",
                                  exit_code=128 + self.stop_signal)

    def _add_row(self, row: dict[str, Any], metric_rows: list[dict[str, Any]]) -> None:
        """Append ``row`` to the run's rows and (on the chief) rewrite ``metrics.csv`` with them."""
        metric_rows.append(row)
        if self.chief:
            write_metrics(self.run.metrics, metric_rows, self.stepper.columns)

    def _divergence(self, row: dict[str, Any], weights: bool) -> str | None:
        """What is non-finite after ``row``'s steps, or None: a loss, or with ``weights`` (a checkpoint is about
        to be written) a saved variable. Weights are read only then: a NaN weight shows in the next losses."""
        if not (math.isfinite(row["d_loss"]) and math.isfinite(row["g_loss"])):
            return f"d_loss {row['d_loss']}, g_loss {row['g_loss']}"
        if not weights:
            return None
        bad = self.store.non_finite()
        return None if bad is None else f"{bad} holds NaN or infinity"

    def _roll_back(self, problem: str, number: int, last_saved: str | None, row: dict[str, Any],
                   metric_rows: list[dict[str, Any]]) -> int:
        """Divergence in epoch ``number``: with ``health.on_divergence: rollback`` (and rollbacks left), restore the
        last good checkpoint, scale the learning rates down, record it in ``metrics.csv``'s ``health`` column and
        return the step to go on from; else raise TrainingDiverged."""
        spec = self.recipe.health
        kept = f"the last good checkpoint {last_saved} is kept" if last_saved else "no checkpoint was written"
        if spec.on_divergence != "rollback" or self.rollbacks >= spec.max_rollbacks or last_saved is None:
            tried = f" after {self.rollbacks} rollbacks" if spec.on_divergence == "rollback" else ""
            hint = "" if spec.on_divergence == "rollback" else ", set health.on_divergence=rollback"
            row["health"] = "; ".join(filter(None, [str(row.get("health", "")), f"diverged: {problem}; stopped"]))
            self._add_row(row, metric_rows)
            raise TrainingDiverged(f"training diverged{tried}: {problem} in epoch {number}; {kept}; lower the "
                                   f"learning rates (optimizers.*.learning_rate){hint} or change the seed")
        restored = self.store.restore_latest(warn=self.echo)
        assert restored is not None
        step, state = restored
        rollbacks, scale = self.rollbacks + 1, self.lr_scale * spec.rollback_lr_factor
        self._load_loop_state(state)
        self.rollbacks, self.lr_scale = rollbacks, scale
        self._set_learning_rates()
        note = (f"diverged: {problem}; rolled back to step {step} with learning rates x{scale:g} "
                f"(rollback {rollbacks} of {spec.max_rollbacks})")
        row["health"] = "; ".join(filter(None, [str(row.get("health", "")), note]))
        self._add_row(row, metric_rows)
        self.echo(f"warning: epoch {number}: {note}")
        return step

    def _loop_state(self) -> dict[str, Any]:
        """What the loop (and its stepper) must carry over a resume, saved in each checkpoint's manifest."""
        state: dict[str, Any] = {"best_fd": self.best_fd if math.isfinite(self.best_fd) else None,
                                 "rollbacks": self.rollbacks, "lr_scale": self.lr_scale}
        return {**state, **self.stepper.state()}

    def _load_loop_state(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's :meth:`_loop_state` (a checkpoint without one: a fresh loop's)."""
        if state.get("best_fd") is not None and math.isfinite(self.best_fd):  # best/ kept the same protocol
            self.best_fd = float(state["best_fd"])
        self.rollbacks = int(state.get("rollbacks", 0))
        self.lr_scale = float(state.get("lr_scale", 1.0))
        self.stepper.load_state(state)

    def _set_learning_rates(self) -> None:
        """The recipe's learning rates times :attr:`lr_scale`, over whatever the checkpoint restored."""
        rates = {"generator": self.recipe.optimizers.generator.learning_rate,
                 "discriminator": self.recipe.optimizers.discriminator.learning_rate}
        set_learning_rates(self.stepper.models.optimizers(), rates, self.lr_scale)
