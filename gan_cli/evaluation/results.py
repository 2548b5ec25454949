"""Saved ``gan eval`` results: reading them, keeping them per protocol in a run, and comparing several.

No TensorFlow or Keras here: ``gan eval --compare`` and ``gan info`` read results without them.

Two results are comparable when they were measured the same way: the same evaluator (``evaluator_id``, a
sha256 of what the evaluator computes, see :func:`gan_cli.evaluation.evaluator.evaluator_identity`), the same
number of fake and real images and the same real split. Results recorded before evaluator ids existed carry
only ``evaluator_sha256``, the sha256 of the evaluator's ``.keras`` file, which changes with every build; they
still load, and compare equal only to results with that same file sha256.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_cli.errors import GanError
from gan_cli.files import JsonFileError, read_json, write_atomic
from gan_cli.runs.run_dir import RunDir

#: The fields that must match for two results to be comparable.
PROTOCOL_KEYS = ("evaluator_id", "n_fake", "n_real", "split", "truncation")
#: How :func:`evaluator_id` marks a result recorded before evaluator ids (by the evaluator file's sha256).
LEGACY_PREFIX = "file-sha256:"


def evaluator_id(result: dict[str, Any]) -> str:
    """The identity of the evaluator that measured ``result``: its ``evaluator_id``, or for a result recorded
    before ids existed ``file-sha256:`` and its ``evaluator_sha256``."""
    if "evaluator_id" in result:
        return str(result["evaluator_id"])
    return LEGACY_PREFIX + str(result.get("evaluator_sha256"))


def short_evaluator_id(result: dict[str, Any], length: int = 16) -> str:
    """``evaluator_id`` shortened for a table; a legacy result shows ``file sha256 ...``."""
    identity = evaluator_id(result)
    if identity.startswith(LEGACY_PREFIX):
        return f"file sha256 {identity.removeprefix(LEGACY_PREFIX)[:length]}"
    return identity[:length]


def load_result(target: str | Path) -> dict[str, Any]:
    """A saved result: ``RUN/eval.json``, a file of ``RUN/eval/`` or a JSON file written by ``gan eval --json``.

    Raises:
        GanError: no result there, or the file is not a ``gan eval`` result.
    """
    path = Path(target)
    path = RunDir(path).eval_json if path.is_dir() else path
    if not path.is_file():
        raise GanError(f"{path}: no evaluation result; run gan eval {target} first")
    try:
        result: dict[str, Any] = read_json(path, dict)
    except JsonFileError as exc:
        raise GanError(f"{path}: not a gan eval result ({exc.reason})") from None
    required = ("metrics", "floor", "evaluator", "n_fake", "n_real", "split")
    missing = [k for k in required if k not in result]
    if "evaluator_id" not in result and "evaluator_sha256" not in result:
        missing.append("evaluator_id")
    if missing:
        raise GanError(f"{path}: not a gan eval result (missing {', '.join(missing)})")
    return dict(result)


def checkpoint_record(generator: Path) -> dict[str, Any]:
    """A result's ``checkpoint``: the generator file evaluated, with what its sidecar (the ``.json`` beside it,
    written on export: step, epoch, ...) says when it has one.

    Raises:
        OSError, JsonFileError: the sidecar cannot be read or is not a JSON object.
    """
    sidecar = generator.with_suffix(".json")
    return {"generator": str(generator), **(read_json(sidecar, dict) if sidecar.is_file() else {})}


# ------------------------------------------------------------------------------------------------------
# Per-protocol results of a run


@dataclass(frozen=True)
class SavedResult:
    """Where :func:`save_run_result` wrote a result, and a warning when the run's main result was kept."""

    record: Path
    main: Path
    replaced_main: bool
    warning: str | None = None


def save_run_result(result: dict[str, Any], run: RunDir, main: Path | None = None, *,
                    replace: bool = False) -> SavedResult:
    """Keep a run's result: always in ``RUN/eval/eval-n{N}-seed{S}-{split}.json`` (a later result of the same
    protocol replaces it), and as the run's main result ``main`` (``RUN/eval.json`` by default; CycleGAN's other
    direction ``RUN/eval_b2a.json``) unless the main result there measured more samples.

    The main result is what ``gan report``, ``gan info`` and ``gan eval --compare RUN`` read: a quick
    ``gan eval RUN --n 100`` does not replace a 10,000-sample result there. ``replace`` replaces it anyway.

    Returns:
        The paths written and, when the main result was kept, a one-line ``warning:`` that says so.
    """
    main = main or run.eval_json
    record = run.eval_result(main, int(result["n_fake"]), int(result.get("seed", 0)), str(result["split"]),
                             result.get("truncation"))
    text = json.dumps(result, indent=2) + "\n"
    write_atomic(record, text)
    if result.get("truncation") is not None:  # a trade-off setting, not the generator's own result
        return SavedResult(record, main, False, f"saved in {record} (a truncated result is never the run's "
                                                f"{main.name})")
    try:
        previous = load_result(main) if main.is_file() else None
    except GanError:
        previous = None  # damaged or not a result: replace it
    if previous is not None and not replace and int(previous["n_fake"]) > int(result["n_fake"]):
        then = previous.get("checkpoint", {}).get("step")
        now = result.get("checkpoint", {}).get("step")
        stale = f" (made at step {then}; this generator is at step {now})" if then != now else ""
        warning = (f"warning: {main} keeps its {previous['n_fake']}-sample result{stale}; this "
                   f"{result['n_fake']}-sample result is in {record} (gan eval --replace makes it the run's result)")
        return SavedResult(record, main, False, warning)
    write_atomic(main, text)
    return SavedResult(record, main, True)


def run_results(run: RunDir) -> list[Path]:
    """The files of ``RUN/eval/``, by name."""
    return sorted(run.eval_results.glob("*.json")) if run.eval_results.is_dir() else []


# ------------------------------------------------------------------------------------------------------
# Comparing


def result_names(targets: Sequence[Path]) -> list[str]:
    """Short, distinct column names for results: a run directory's name, the run's name for its ``eval.json``,
    ``run/eval-n300-seed0-test`` for a file of its ``eval/`` folder, else the file's name (full paths when
    these collide)."""
    names = []
    for target in targets:
        run, above = RunDir(target.parent), RunDir(target.parent.parent)
        if target in run.main_eval_files().values() and run.is_run():
            names.append(target.parent.name + ("" if target == run.eval_json else " b2a"))
        elif target.parent == above.eval_results and above.is_run():
            names.append(f"{target.parent.parent.name}/{target.stem}")
        else:
            names.append(target.name or str(target))
    return names if len(set(names)) == len(names) else [str(t) for t in targets]


@dataclass(frozen=True)
class Difference:
    """One protocol field on which results disagree, with each result's value (in the results' order)."""

    field: str
    values: tuple[Any, ...]

    def describe(self, names: Sequence[str]) -> str:
        """``n_fake differs (runA 300, runB 200)``."""
        shown = [short_evaluator_id({"evaluator_id": v}, 12) if self.field == "evaluator_id" else str(v)
                 for v in self.values]
        return f"{self.field} differs ({', '.join(f'{n} {v}' for n, v in zip(names, shown))})"


def protocol_differences(results: Sequence[dict[str, Any]]) -> list[Difference]:
    """The protocol fields on which ``results`` disagree (``evaluator_id`` read with :func:`evaluator_id`)."""
    differences = []
    for key in PROTOCOL_KEYS:
        values = tuple(evaluator_id(r) if key == "evaluator_id" else r.get(key) for r in results)
        if len(set(map(str, values))) > 1:
            differences.append(Difference(key, values))
    return differences


def _against(result: dict[str, Any], split: str) -> str:
    """The ``--against`` that measures against ``split`` (a translation's FD uses the other split)."""
    if "translation" in result:
        return "train" if split == "test" else "test"
    return split


def _rerun(target: Path, result: dict[str, Any], n: int, split: str, truncation: float | None = None) -> str:
    """The ``gan eval`` command that measures what ``target`` holds with ``n`` samples against ``split`` (and
    truncated latents ψ)."""
    options = f"--n {n} --against {_against(result, split)}"
    if truncation is not None:
        options += f" --truncation {truncation:g}"
    if result.get("translation", {}).get("direction") == "b2a":
        options += " --direction b2a"
    evaluated = Path(str(result.get("evaluated", target)))
    source = result.get("evaluator", {}).get("source", "SOURCE")
    if evaluated.suffix == ".npz":
        return f"gan eval --samples {evaluated} --source {source} {options}"
    runs = [target, target.parent, target.parent.parent] if target.suffix == ".json" or target.is_dir() else []
    for folder in [*runs, evaluated.parent]:
        if RunDir(folder).is_run() or RunDir(folder).is_snapshot():
            return f"gan eval {folder} {options}"
    return f"gan eval {evaluated} --source {source} {options}"


def _protocol(result: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(evaluator_id(result) if key == "evaluator_id" else result.get(key)) for key in PROTOCOL_KEYS)


def _run_of(target: Path) -> Path | None:
    """The run directory a target is or belongs to (its ``eval.json`` or a file of its ``eval/``), if any."""
    if target.is_dir():
        return target if RunDir(target).is_run() else None
    for folder in (target.parent, target.parent.parent):
        if RunDir(folder).is_run() and target.parent in (folder, RunDir(folder).eval_results):
            return folder
    return None


def _on_hand(target: Path, result: dict[str, Any]) -> dict[tuple[str, ...], Path]:
    """The results a target already has, by protocol: its own, and those of its run's ``eval/`` folder."""
    found = {_protocol(result): target}
    run = _run_of(target)
    for path in run_results(RunDir(run)) if run is not None else []:
        try:
            found.setdefault(_protocol(load_result(path)), path)
        except GanError:
            continue
    return found


def comparison_advice(targets: Sequence[Path], results: Sequence[dict[str, Any]],
                      differences: Sequence[Difference]) -> str:
    """What would make the results comparable, as one line.

    First the results measured alike that the runs already have (their ``eval/`` folders keep every
    protocol), as a ``gan eval --compare`` command; then the ``gan eval`` commands that measure each result
    that differs with the reference protocol: the most samples (the fewest when some results are of sample
    files, which cannot grow) against the first result's split. When the evaluators differ every result is
    measured again, so that this machine's evaluator measures them all.
    """
    fields = {d.field for d in differences}
    sources = sorted({str(r.get("evaluator", {}).get("source")) for r in results})
    if "evaluator_id" in fields and len(sources) > 1:
        return f"they were measured against different data sets ({', '.join(sources)}); no re-run makes them compare"
    if fields == {"n_real"}:
        return "the same number of samples met real splits of different sizes, so the data differ; no re-run helps"
    hands = [_on_hand(t, r) for t, r in zip(targets, results)]
    common = set(hands[0]).intersection(*hands[1:])
    sizes = [int(r["n_fake"]) for r in results]
    from_files = any(str(r.get("evaluated", "")).endswith(".npz") for r in results)
    n, split = min(sizes) if from_files else max(sizes), str(results[0]["split"])
    again = "evaluator_id" in fields
    psi = results[0].get("truncation")
    steps = [_rerun(t, r, n, split, psi) for t, r in zip(targets, results)
             if again or (int(r["n_fake"]), r["split"], r.get("truncation")) != (n, split, psi)]
    options = []
    if common:
        best = max(common, key=lambda protocol: int(protocol[PROTOCOL_KEYS.index("n_fake")]))
        alike = " ".join(str(hand[best]) for hand in hands)
        options.append(f"results measured alike are at hand: gan eval --compare {alike}")
        if (best[PROTOCOL_KEYS.index("n_fake")], best[PROTOCOL_KEYS.index("split")]) == (str(n), split):
            steps = []  # nothing better to measure
    if steps:
        options.append(f"{'or ' if options else ''}to compare them with {n} samples, run here: {'; '.join(steps)}")
    legacy = [str(t) for t, r in zip(targets, results) if evaluator_id(r).startswith(LEGACY_PREFIX)]
    if again and legacy:
        options.insert(0, f"{', '.join(legacy)} {'was' if len(legacy) == 1 else 'were'} measured before evaluator ids")
    elif again:
        options.insert(0, "their evaluators differ in definition, data or weights (another gan version, other data "
                          "files, or a machine whose evaluator training gives other weights)")
    return "; ".join(options)


def _cell(result: dict[str, Any], path: str) -> Any:
    value: Any = result
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def comparison_rows(result: dict[str, Any]) -> dict[str, Any]:
    """One result's row of a comparison: its numbers, step and protocol (None where it has none)."""
    return {
        "fd": _cell(result, "metrics.fd"),
        "fd_floor": _cell(result, "floor.fd"),
        "fd_logits": _cell(result, "metrics.fd_logits"),
        "kid": _cell(result, "metrics.kid.mean"),
        "classifier_score": _cell(result, "metrics.classifier_score.mean"),
        "classes_covered": _cell(result, "metrics.labels.classes_covered"),
        "num_classes": _cell(result, "metrics.labels.num_classes"),
        "step": _cell(result, "checkpoint.step"),
        "evaluated": result.get("evaluated"),
        "n_fake": result.get("n_fake"),
        "n_real": result.get("n_real"),
        "split": result.get("split"),
        "seed": result.get("seed"),
        "evaluator_id": evaluator_id(result),
    }


def comparison_json(names: Sequence[str], targets: Sequence[Path], results: Sequence[dict[str, Any]],
                    differences: Sequence[Difference]) -> dict[str, Any]:
    """The comparison as plain data: ``comparable``, each ``difference`` (field and one value per run) and one
    row per run (``name``, ``path`` and :func:`comparison_rows`)."""
    return {
        "comparable": not differences,
        "differences": [{"field": d.field, "values": list(d.values)} for d in differences],
        "runs": [{"name": name, "path": str(target), **comparison_rows(result)}
                 for name, target, result in zip(names, targets, results)],
    }


def format_comparison(names: Sequence[str], results: Sequence[dict[str, Any]]) -> str:
    """Results side by side, one column per run."""
    table = [
        ("FD", "fd", ".3f"), ("FD floor", "fd_floor", ".3f"), ("FD logits", "fd_logits", ".3f"),
        ("KID", "kid", ".5f"), ("class score", "classifier_score", ".3f"), ("classes", "classes_covered", ""),
        ("steps", "step", ""),
    ]
    rows = [comparison_rows(r) for r in results]
    width = max(12, *(len(n) for n in names)) + 2
    lines = ["".ljust(12) + "".join(n.rjust(width) for n in names)]
    for label, key, fmt in table:
        cells = []
        for row in rows:
            value = row[key]
            text = "-" if value is None else format(value, fmt) if fmt else str(value)
            cells.append(f"{text}/{row['num_classes']}" if key == "classes_covered" and value is not None else text)
        lines.append(label.ljust(12) + "".join(c.rjust(width) for c in cells))
    first = results[0]
    lines.append(f"protocol: {first['n_fake']} fake vs {first['n_real']} real ({first['split']}), evaluator "
                 f"{short_evaluator_id(first)}")
    return "\n".join(lines)
