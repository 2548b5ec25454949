"""The run directory: the only code that knows the file names inside it, and atomic writes.

A run directory is the contract between the verbs: ``gan train`` fills it, ``gan sample`` and
``gan eval`` need nothing else. Layout::

    RUN/recipe.yaml          the fully resolved recipe
    RUN/metrics.csv          one row per epoch (or partial epoch): losses, D scores, timings
    RUN/summary.json         steps, epochs, seconds, ms_per_step, final losses, versions
    RUN/loss_curves.png      losses and D scores per epoch
    RUN/samples/epoch_NNNN.png   grids from one fixed latent batch
    RUN/checkpoints/         tf.train.Checkpoint files (G, D, both optimizers, counters, RNG state)
    RUN/generator.keras      the generator, exported at every checkpoint and at the end
    RUN/generator.json       the step and epoch it was exported at
    RUN/generator_b2a.keras  CycleGAN only: the inverse generator F: B -> A (RUN/generator.keras is G: A -> B)
    RUN/eval.json            the run's ``gan eval`` result: the latest, unless an earlier one measured more samples
    RUN/eval/                every ``gan eval`` result, one file per protocol: eval-n{N}-seed{S}-{split}.json
    RUN/changes.json         the recipe changes made on resume (``--set``, ``--allow-changes``), with their step
    RUN/best/                the checkpoint, generator.keras and generator.json (FD, step, protocol) with the
                             lowest FD during training
    RUN/tensorboard/         TensorBoard event files: each metrics row's numbers and each sample grid, at their step
    RUN/progress.gif         the sample grids in training order, one frame each (``logs.progress_gif``, gan animate)
    RUN/report.html          ``gan report``: one self-contained page about the run (images embedded)
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_cli.errors import RunDirError
from gan_cli.files import read_json_list, read_json_object, write_atomic

#: The page ``gan report`` writes: ``RUN/report.html`` for one run, ``./report.html`` for several without ``--out``.
REPORT_NAME = "report.html"

METRIC_COLUMNS = ("epoch", "step", "steps_in_row", "d_loss", "g_loss", "d_real", "d_fake", "augment_p",
                  "seconds", "ms_per_step", "diversity", "fd", "label_kl", "classes_covered", "health")

#: ``metrics.csv`` of pix2pix and CycleGAN runs: their own loss terms, and ``val_l1``, the mean |output - truth|
#: (in [0, 1] pixel units) of the fixed test examples shown in the sample grids.
TRANSLATION_COLUMNS = ("epoch", "step", "steps_in_row", "d_loss", "g_loss", "d_real", "d_fake", "g_adv", "l1", "fm",
                       "cycle", "identity", "d_a_loss", "d_b_loss", "seconds", "ms_per_step", "val_l1", "fd", "health")


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory."""

    root: Path

    @property
    def recipe(self) -> Path:
        return self.root / "recipe.yaml"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.csv"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def loss_curves(self) -> Path:
        return self.root / "loss_curves.png"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def generator(self) -> Path:
        return self.root / "generator.keras"

    @property
    def raw_generator(self) -> Path:
        """G's own trained weights when ``train.ema`` makes ``generator.keras`` their moving average
        (``gan sample --raw``)."""
        return self.root / "generator_raw.keras"

    @property
    def generator_info(self) -> Path:
        """Which step ``generator.keras`` was exported at (``gan eval`` records it)."""
        return self.root / "generator.json"

    @property
    def inverse_generator(self) -> Path:
        """CycleGAN's F: B -> A."""
        return self.root / "generator_b2a.keras"

    @property
    def eval_json(self) -> Path:
        return self.root / "eval.json"

    def eval_json_for(self, direction: str) -> Path:
        """The main ``gan eval`` result of one direction: ``eval.json`` (a2b, and every GAN), or for CycleGAN's F
        (b2a) ``eval_b2a.json``."""
        return self.eval_json if direction == "a2b" else self.root / "eval_b2a.json"

    def main_eval_files(self) -> dict[str, Path]:
        """Each direction's main ``gan eval`` result file (whether or not it exists)."""
        return {direction: self.eval_json_for(direction) for direction in ("a2b", "b2a")}

    @property
    def eval_results(self) -> Path:
        """Every ``gan eval`` result, one file per protocol (``gan_cli.evaluation.results`` names them)."""
        return self.root / "eval"

    def eval_result(self, main: Path, n: int, seed: int, split: str, truncation: float | None = None) -> Path:
        """The file of ``eval/`` that keeps the result of one protocol (N fake images, seed, real split, and any
        truncation ψ) of the direction whose main result is ``main``: ``eval/eval-n{N}-seed{S}-{split}.json``
        (``eval_b2a-...``; ``...-psi{ψ}.json`` for truncated latents)."""
        psi = "" if truncation is None else f"-psi{truncation:g}"
        return self.eval_results / f"{main.stem}-n{n}-seed{seed}-{split}{psi}.json"

    @property
    def changes(self) -> Path:
        """Every resume that changed the recipe: the step, the time, each changed key's old and new value and
        where it came from (``--set``, a hand edit of ``recipe.yaml``)."""
        return self.root / "changes.json"

    @property
    def tensorboard(self) -> Path:
        """TensorBoard event files (``tensorboard --logdir RUN`` finds them), written by the chief while it trains."""
        return self.root / "tensorboard"

    @property
    def progress_gif(self) -> Path:
        """The sample grids as one animation (``gan animate``, and the end of training with ``logs.progress_gif``)."""
        return self.root / "progress.gif"

    @property
    def report(self) -> Path:
        """``gan report``'s self-contained HTML page about this run (its default place)."""
        return self.root / REPORT_NAME

    @property
    def best(self) -> Path:
        """The best checkpoint by Fréchet distance (when the recipe evaluates during training)."""
        return self.root / "best"

    def sample_grid(self, epoch: int) -> Path:
        """The grid written after ``epoch`` epochs."""
        return self.samples / f"epoch_{epoch:04d}.png"

    def sample_grid_at(self, step: int, steps_per_epoch: int) -> Path:
        """The grid written at ``step``: the epoch's grid at an epoch's end, else ``step_NNNNNNN.png`` (a run
        that ``train.steps`` or a stop signal ended inside an epoch)."""
        if step % steps_per_epoch == 0:
            return self.sample_grid(step // steps_per_epoch)
        return self.samples / f"step_{step:07d}.png"

    def is_run(self) -> bool:
        """True when the directory holds a resolved recipe, i.e. ``gan train`` started it."""
        return self.recipe.is_file()

    def is_snapshot(self) -> bool:
        """True for a run's ``best/``: a generator with its ``generator.json``, inside a run directory."""
        return not self.is_run() and self.generator_info.is_file() and RunDir(self.root.parent).is_run()


_GRID_NAME = re.compile(r"(epoch|step)_(\d+)\.png")


@dataclass(frozen=True)
class SampleGridFile:
    """One grid of ``RUN/samples``: ``epoch`` is set for ``epoch_NNNN.png``, ``step`` for ``step_NNNNNNN.png``."""

    path: Path
    epoch: int | None
    step: int | None

    def position(self, steps_per_epoch: int | None) -> tuple[float, int]:
        """Where it falls in training: its epoch (a ``step_`` grid's fractional epoch, or last when
        ``steps_per_epoch`` is unknown), then its step."""
        if self.epoch is not None:
            return float(self.epoch), 0
        assert self.step is not None
        return (self.step / steps_per_epoch if steps_per_epoch else math.inf), self.step

    def label(self, steps_per_epoch: int | None = None) -> str:
        """``epoch 12``, or for a grid written inside an epoch ``step 260``, with ``steps_per_epoch``
        ``step 260 (epoch 26.00)``."""
        if self.epoch is not None:
            return f"epoch {self.epoch}"
        fraction = f" (epoch {self.step / steps_per_epoch:.2f})" if steps_per_epoch and self.step is not None else ""
        return f"step {self.step}{fraction}"


def sample_grid_files(run: RunDir, steps_per_epoch: int | None) -> list[SampleGridFile]:
    """The run's sample grids (see :meth:`RunDir.sample_grid_at`), in training order."""
    grids = []
    for path in run.samples.iterdir() if run.samples.is_dir() else ():
        match = _GRID_NAME.fullmatch(path.name)
        if match and path.is_file():
            number = int(match.group(2))
            grids.append(SampleGridFile(path, number if match.group(1) == "epoch" else None,
                                        number if match.group(1) == "step" else None))
    return sorted(grids, key=lambda grid: grid.position(steps_per_epoch))


def run_steps_per_epoch(summary: Mapping[str, Any] | None, metrics: Sequence[Mapping[str, Any]] = ()) -> int | None:
    """A run's steps per epoch: from its ``summary.json`` (written when an invocation ends), or while it has none,
    the step of ``metrics.csv``'s first whole epoch; None when neither says."""
    value = summary.get("steps_per_epoch") if summary else None
    if isinstance(value, int) and value > 0:
        return value
    whole = [r for r in metrics if r.get("epoch") == 1 and "step" in r]
    return int(whole[0]["step"]) if whole else None


def evenly_spaced(count: int, limit: int) -> list[int]:
    """Indices of at most ``limit`` of ``count`` items (grids to show), evenly spaced, first and last included."""
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def new_run(root: str | Path) -> RunDir:
    """A run directory for a new run: absent or empty (it is created when training starts). A temporary file left
    by a killed ``gan train`` before it wrote anything else does not count.

    Raises:
        RunDirError: the path exists and is not an empty directory (nothing in it is touched).
    """
    path = Path(root)
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path}: exists and is not a directory; choose another --out")
    if path.is_dir() and any(not _unfinished_write(child) for child in path.iterdir()):
        raise RunDirError(f"{path}: run directory is not empty; choose another --out, or continue "
                          f"that run with: gan train {path} --resume")
    return RunDir(path)


def _unfinished_write(path: Path) -> bool:
    """A temporary file an atomic write left when its process was killed (``.NAME.XXXX.tmp``)."""
    return path.name.startswith(".") and path.name.endswith(".tmp") and path.is_file()


def default_run_root(name: str, parent: str | Path = "runs") -> Path:
    """``runs/NAME``, or ``runs/NAME-2``, ``-3``, ... for the first that does not exist yet."""
    base = Path(parent) / name
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    return candidate


def open_run(root: str | Path) -> RunDir:
    """An existing run directory.

    Raises:
        RunDirError: it does not exist or holds no ``recipe.yaml``.
    """
    run = RunDir(Path(root))
    if not run.root.is_dir():
        raise RunDirError(f"{run.root}: run directory not found")
    if not run.is_run():
        raise RunDirError(f"{run.root}: not a run directory (no recipe.yaml); pass the --out of a "
                          "gan train run")
    return run


#: Suffix of a checkpoint's manifest, beside its ``.index`` and ``.data-*`` files (see ``gan_cli.runs.checkpoints``).
MANIFEST_SUFFIX = ".manifest.json"


def committed_checkpoints(directory: Path) -> list[tuple[int, Path, dict[str, Any]]]:
    """``(step, prefix, manifest)`` of every checkpoint in ``directory`` that has a readable manifest and its
    index file, newest first (plain JSON: no TensorFlow, so planning a resume stays fast)."""
    found = []
    for path in directory.glob(f"ckpt-*{MANIFEST_SUFFIX}"):
        match = re.fullmatch(rf"ckpt-(\d+){re.escape(MANIFEST_SUFFIX)}", path.name)
        prefix = Path(str(path)[: -len(MANIFEST_SUFFIX)])
        if match is None or not Path(f"{prefix}.index").exists():
            continue
        manifest = read_json_object(path)
        if isinstance(manifest.get("sha256"), dict):
            found.append((int(match.group(1)), prefix, manifest))
    return sorted(found, key=lambda item: item[0], reverse=True)


def read_changes(run: RunDir) -> list[dict[str, Any]]:
    """The entries of the run's ``changes.json``, oldest first (none when it is missing or unreadable)."""
    return [entry for entry in read_json_list(run.changes) if isinstance(entry, dict)]


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write pretty JSON atomically."""
    write_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_metrics(path: Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str] = METRIC_COLUMNS) -> None:
    """Rewrite ``metrics.csv`` atomically with the given rows (columns: METRIC_COLUMNS, or
    TRANSLATION_COLUMNS for an image-to-image run)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _format(row.get(k)) for k in columns})
    write_atomic(path, buffer.getvalue())


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Rows of ``metrics.csv``, numbers as floats and ``health`` as text; an absent file gives no rows."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: (v if k == "health" else float(v)) for k, v in row.items() if v not in (None, "")}
                for row in csv.DictReader(handle)]


def median_row_ms(rows: Sequence[Mapping[str, Any]]) -> float | None:
    """Median ms/step of metrics rows, leaving out the first (its steps include tracing) when there are
    others; None when no row has a timing."""
    timings = [row["ms_per_step"] for row in rows[1:] or rows if row.get("ms_per_step") is not None]
    return statistics.median(timings) if timings else None


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
