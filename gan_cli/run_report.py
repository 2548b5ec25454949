"""``gan report``: one self-contained HTML page about a run directory, or several runs side by side.

The page needs nothing but a browser: every image is a base64 ``data:`` URI (the sample grids and
``progress.gif`` as written by ``gan train``, the loss curves drawn here from ``metrics.csv``), the CSS is
inline, there is no JavaScript and nothing is fetched from the network. Every text taken from a run's
files is HTML-escaped. Only ``recipe.yaml`` is required; every other file of the run directory is shown
when present and left out when not, so a run that has trained a few steps, or is still training, gets a
report too. Reading a report never imports TensorFlow.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from gan_cli import __version__
from gan_cli.errors import RunDirError
from gan_cli.files import JsonFileError, read_json, write_atomic
from gan_cli.recipe.schema import TRANSLATION_FAMILIES, flatten_keys
from gan_cli.runs.plots import column_label, draw_loss_curves
from gan_cli.runs.run_dir import (
    REPORT_NAME,
    RunDir,
    SampleGridFile,
    evenly_spaced,
    median_row_ms,
    open_run,
    read_metrics,
    run_steps_per_epoch,
    sample_grid_files,
)

#: At most this many sample grids per run, evenly spaced over training (the first and the last included).
MAX_GRIDS = 12
#: How each direction's evaluation is captioned (CycleGAN's other direction: B to A).
DIRECTION_CAPTIONS = {"a2b": "", "b2a": "B to A"}
#: The ``metrics.csv`` columns a run's "final" values show.
_LOSS_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "g_adv", "l1", "cycle", "identity", "d_a_loss", "d_b_loss")

@dataclass(frozen=True)
class RunRecord:
    """What a report shows about one run, read from its run directory (absent files: None or empty)."""

    run: RunDir
    recipe_text: str
    recipe: dict[str, Any]
    summary: dict[str, Any] | None
    metrics: list[dict[str, Any]]
    #: sample grids in training order
    grids: list[SampleGridFile]
    evaluations: list[tuple[str, dict[str, Any]]]
    best: dict[str, Any] | None
    progress_gif: Path | None
    problems: list[str]

    @property
    def name(self) -> str:
        """The recipe's name (the run directory's when the recipe has none)."""
        return str(self.recipe.get("name") or self.run.root.name)

    @property
    def family(self) -> str:
        return str(self.recipe.get("family") or "gan")

    @property
    def steps_per_epoch(self) -> int | None:
        return run_steps_per_epoch(self.summary, self.metrics)

    def progress(self) -> dict[str, Any]:
        """Steps, epochs, seconds, ms/step and final losses: from ``summary.json``, or, while a run has none
        yet, from the last row of ``metrics.csv``."""
        if self.summary:
            final = dict(self.summary.get("final") or {})
            if "val_l1" in self.summary:
                final["val_l1"] = self.summary["val_l1"]
            return {"steps": self.summary.get("steps"), "epochs": self.summary.get("epochs"),
                    "seconds": self.summary.get("seconds"), "ms_per_step": self.summary.get("ms_per_step"),
                    "finished": self.summary.get("finished"), "final": final, "source": self.run.summary.name}
        if not self.metrics:
            return {"final": {}, "source": None}
        last = self.metrics[-1]
        final = {k: last[k] for k in (*_LOSS_KEYS, "val_l1") if k in last}
        return {"steps": _int(last.get("step")), "epochs": _int(last.get("epoch")), "seconds": last.get("seconds"),
                "ms_per_step": median_row_ms(self.metrics), "finished": False,
                "final": final, "source": self.run.metrics.name}

    def health_warnings(self) -> list[tuple[int | None, str]]:
        """``(epoch, text)`` of every non-empty ``health`` entry of ``metrics.csv``."""
        return [(_int(r.get("epoch")), str(r["health"])) for r in self.metrics if str(r.get("health", "")).strip()]


def read_run(root: str | Path) -> RunRecord:
    """Everything a report shows about the run directory ``root``.

    Files other than ``recipe.yaml`` are optional; an unreadable one is left out and named in
    ``problems`` (the page says so) rather than failing the report.

    Raises:
        RunDirError: ``root`` is not a run directory (no ``recipe.yaml``), or its recipe cannot be read.
    """
    run = open_run(root)
    problems: list[str] = []
    try:
        recipe_text = run.recipe.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{run.recipe}: cannot read the recipe ({exc})") from None
    try:
        recipe = yaml.safe_load(recipe_text)
    except yaml.YAMLError:
        recipe, problems = {}, [f"{run.recipe.name}: not valid YAML; shown as text"]
    summary = _read_json(run.summary, problems)
    try:
        metrics = read_metrics(run.metrics)
    except (OSError, ValueError, UnicodeDecodeError):
        metrics, problems = [], [*problems, f"{run.metrics.name}: unreadable; losses left out"]
    evaluations = []
    for direction, path in run.main_eval_files().items():
        result = _read_json(path, problems)
        if result is not None:
            evaluations.append((DIRECTION_CAPTIONS[direction], result))
    gif = run.progress_gif  # gan animate, or gan train with logs.progress_gif
    return RunRecord(run=run, recipe_text=recipe_text, recipe=recipe if isinstance(recipe, dict) else {},
                     summary=summary, metrics=metrics,
                     grids=sample_grid_files(run, run_steps_per_epoch(summary, metrics)), evaluations=evaluations,
                     best=_read_json(RunDir(run.best).generator_info, problems),
                     progress_gif=gif if gif.is_file() else None, problems=problems)


def recipe_differences(recipes: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Any]]]:
    """The dotted recipe keys whose values differ between the recipes, with each recipe's value (``None``
    where a recipe lacks the key or sets it to null), in the order the keys first appear."""
    flat = [flatten_keys(r) for r in recipes]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    differences = []
    for key in keys:
        values = [f.get(key, _MISSING) for f in flat]
        if len({json.dumps(v, sort_keys=True, default=str) for v in values}) > 1:
            differences.append((key, [None if v is _MISSING else v for v in values]))
    return differences


def default_report_path(roots: Sequence[str | Path]) -> Path:
    """``RUN/report.html`` for one run, ``./report.html`` for several."""
    return RunDir(Path(roots[0])).report if len(roots) == 1 else Path(REPORT_NAME)


def write_report(roots: Sequence[str | Path], out: str | Path | None = None) -> Path:
    """Read the run directories, render the page and write it atomically to ``out`` (default:
    :func:`default_report_path`). Returns the path written.

    Raises:
        RunDirError: a path is not a run directory, ``out`` is a directory, or the page cannot be written.
    """
    if not roots:
        raise RunDirError("no run directory given; pass one or more, e.g. gan report runs/digits")
    path = Path(out) if out is not None else default_report_path(roots)
    if path.is_dir():
        raise RunDirError(f"{path}: is a directory; give --out a file name such as {path / REPORT_NAME}")
    records = [read_run(root) for root in roots]
    write_atomic(path, render_report(records))
    return path


def render_report(records: Sequence[RunRecord]) -> str:
    """The whole HTML page: a comparison of the runs when there are several, then each run's section."""
    labels = run_labels(records)
    parts = [f"<h1>gan report: {_text(', '.join(labels))}</h1>",
             f'<p class="meta">made {_text(_now())} by gan {_text(__version__)}; self-contained, works offline</p>']
    if len(records) > 1:
        parts.append(_comparison(records, labels))
    for number, (record, label) in enumerate(zip(records, labels), start=1):
        parts.append(_run_section(record, label, f"run-{number}"))
    title = "gan report: " + ", ".join(labels)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{_text(title)}</title>\n'
            f"<style>{_CSS}</style>\n</head>\n<body>\n" + "\n".join(parts) + "\n</body>\n</html>\n")


def run_labels(records: Sequence[RunRecord]) -> list[str]:
    """Each run's column heading: its directory's name, or its whole path where two names coincide."""
    names = [r.run.root.resolve().name or str(r.run.root) for r in records]
    return [name if names.count(name) == 1 else str(r.run.root) for name, r in zip(names, records)]


# ------------------------------------------------------------------------------------------------------
# One run

def _run_section(record: RunRecord, label: str, anchor: str) -> str:
    parts = [f'<section class="run" id="{anchor}">',
             f"<h2>{_text(label)} <small>{_text(record.name)} &middot; {_text(record.family)}</small></h2>",
             f'<p class="meta">run directory <code>{_text(str(record.run.root))}</code></p>']
    parts += [f'<p class="problem">{_text(p)}</p>' for p in record.problems]
    parts.append(_summary_table(record))
    parts.append(_grids_block(record))
    if record.progress_gif is not None:
        animation = _image(record.progress_gif.read_bytes(), "image/gif", "progress animation", pixelated=True)
        parts.append(f"<h3>Progress animation <small>{_text(record.progress_gif.name)}</small></h3>\n{animation}")
    if record.metrics:
        curves = draw_loss_curves([(record.name, record.metrics, record.steps_per_epoch)])
        parts.append(f'<h3>Loss curves</h3>\n<div class="scroll">{_image(curves, "image/png", "loss curves")}</div>')
    for direction, result in record.evaluations:
        parts.append(_evaluation_block(result, direction))
    if record.best is not None:
        parts.append(_best_block(record.best))
    parts.append(_health_block(record))
    parts.append(f"<h3>Recipe <small>recipe.yaml</small></h3>\n<pre>{_text(record.recipe_text)}</pre>")
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def _summary_table(record: RunRecord) -> str:
    progress = record.progress()
    if progress["source"] is None:
        return '<p class="note">No steps recorded yet (no summary.json or metrics.csv).</p>'
    rows = [("steps", _fmt(progress.get("steps"))), ("epochs", _fmt(progress.get("epochs"))),
            ("seconds", _fmt(progress.get("seconds"), ".1f")), ("ms/step", _fmt(progress.get("ms_per_step"), ".2f")),
            ("finished", _fmt(progress.get("finished")))]
    summary = record.summary or {}
    for key, title in (("precision", "precision"), ("jit_compile", "XLA"), ("data", "data"),
                       ("generator_params", "generator parameters"),
                       ("discriminator_params", "discriminator parameters")):
        if summary.get(key) is not None:
            rows.append((title, _fmt(summary[key])))
    translation = record.family in TRANSLATION_FAMILIES
    rows += [(f"final {column_label(k, translation)}", _fmt(v, ".4f")) for k, v in progress["final"].items()]
    if isinstance(summary.get("versions"), dict):
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in summary["versions"].items())))
    note = ("" if progress["source"] == RunDir(Path()).summary.name
            else '<p class="note">No summary.json yet: figures from the last row of metrics.csv.</p>')
    return "<h3>Summary</h3>\n" + note + _key_value_table(rows)


def _grids_block(record: RunRecord) -> str:
    if not record.grids:
        return ""
    grids = record.grids
    shown = [grids[i] for i in evenly_spaced(len(grids), MAX_GRIDS)]
    note = f" <small>{len(shown)} of {len(grids)}, evenly spaced</small>" if len(shown) < len(grids) else ""
    figures = "\n".join(_figure(g.path, g.label(record.steps_per_epoch)) for g in shown)
    return f'<h3>Samples over training{note}</h3>\n<div class="grids">\n{figures}\n</div>'


def _evaluation_block(result: Mapping[str, Any], direction: str) -> str:
    """``gan eval``'s result with its floor and protocol (the fields of ``gan_cli.evaluation.measure``)."""
    metrics = _part(result, "metrics")
    floor = _part(result, "floor")
    evaluator = _part(result, "evaluator")
    rows: list[tuple[str, str]] = []
    if "fd" in metrics:
        fd = _fmt(metrics["fd"], ".3f")
        if "fd" in floor:
            other = "train" if result.get("split") == "test" else "test"
            fd += (f" (floor {_fmt(floor['fd'], '.3f')}: {_fmt(floor.get('n_stand_in'))} real {other} vs "
                   f"{_fmt(floor.get('n_reference'))} {_fmt(result.get('split'))} images)")
        rows.append(("FD", fd))
    if "fd_logits" in metrics:
        rows.append(("FD logits", _fmt(metrics["fd_logits"], ".3f")))
    score = _dig(metrics, "classifier_score")
    if isinstance(score, dict):
        rows.append(("class score", f"{_fmt(score.get('mean'), '.3f')} ± {_fmt(score.get('std'), '.3f')}"))
    labels = _dig(metrics, "labels")
    if isinstance(labels, dict):
        rows.append(("classes covered", f"{_fmt(labels.get('classes_covered'))}/{_fmt(labels.get('num_classes'))}, "
                                        f"KL(real||fake) {_fmt(labels.get('kl_real_fake'), '.4f')}"))
    if isinstance(_dig(metrics, "conditional_accuracy"), dict):
        rows.append(("conditional accuracy", _fmt(_dig(metrics, "conditional_accuracy.overall"), ".3f")))
    if isinstance(_dig(metrics, "code_purity"), dict):
        rows.append(("code purity", _fmt(_dig(metrics, "code_purity.purity"), ".3f")))
    if isinstance(_dig(metrics, "kid"), dict):
        rows.append(("KID", f"{_fmt(_dig(metrics, 'kid.mean'), '.5f')} ± {_fmt(_dig(metrics, 'kid.std'), '.5f')}"))
    prdc = _dig(metrics, "prdc")
    if isinstance(prdc, dict):
        rows.append(("precision / recall / density / coverage",
                     " / ".join(_fmt(prdc.get(k), ".3f") for k in ("precision", "recall", "density", "coverage"))))
    rows.append(("protocol", f"{_fmt(result.get('n_fake'))} fake vs {_fmt(result.get('n_real'))} real "
                             f"({_fmt(result.get('split'))} split), seed {_fmt(result.get('seed'))}"))
    quality = (f"test accuracy {_fmt(evaluator['test_accuracy'], '.4f')}" if "test_accuracy" in evaluator
               else f"reconstruction MSE {_fmt(evaluator.get('test_mse'), '.4f')}")
    rows.append(("evaluator", f"{_fmt(evaluator.get('source'))} {_fmt(evaluator.get('kind'))} ({quality}), "
                              f"{_evaluator_id(result, 16)}"))
    checkpoint = _part(result, "checkpoint")
    if checkpoint:
        rows.append(("checkpoint", f"{_fmt(checkpoint.get('generator'))} at step {_fmt(checkpoint.get('step'))}"))
    rows.append(("measured", f"{_fmt(result.get('created'))} by {_fmt(result.get('tool'))}"))
    title = f"Evaluation{' ' + direction if direction else ''} <small>gan eval</small>"
    return f"<h3>{title}</h3>\n{_key_value_table(rows)}{_translation_table(result)}"


def _translation_table(result: Mapping[str, Any]) -> str:
    spec = result.get("translation")
    if not isinstance(spec, dict):
        return ""
    header = "<tr><th></th><th>L1</th><th>PSNR dB</th><th>SSIM</th><th>FD</th></tr>"
    rows = []
    for name, key in (("output", "output"), ("copy input", "copy_input")):
        values = dict(spec.get(key) or {})
        if key == "output" and "fd" in (result.get("metrics") or {}):
            values["fd"] = result["metrics"]["fd"]
        if values:
            cells = "".join(f"<td>{_text(_fmt(values.get(k), f))}</td>"
                            for k, f in (("l1", ".4f"), ("psnr", ".2f"), ("ssim", ".4f"), ("fd", ".3f")))
            rows.append(f"<tr><th>{name}</th>{cells}</tr>")
    caption = (f"<caption>{_text(_fmt(spec.get('direction')))}: {_text(_fmt(spec.get('n_inputs')))} "
               f"{_text(_fmt(spec.get('inputs_split')))} inputs; copying the input unchanged is the baseline"
               "</caption>")
    return f'\n<table class="numbers">{caption}{header}{"".join(rows)}</table>'


def _best_block(best: Mapping[str, Any]) -> str:
    rows = [("FD", _fmt(best.get("fd"), ".3f")), ("step", _fmt(best.get("step"))),
            ("epoch", _fmt(best.get("epoch"), ".2f")),
            ("measured with", f"n {_fmt(best.get('n'))} against {_fmt(best.get('against'))}")]
    return "<h3>Best checkpoint <small>best/generator.json</small></h3>\n" + _key_value_table(rows)


def _health_block(record: RunRecord) -> str:
    warnings = record.health_warnings()
    if not record.metrics:
        return ""
    if not warnings:
        return '<h3>Health</h3>\n<p class="note">No health warnings in metrics.csv.</p>'
    rows = "".join(f"<tr><td>{_text(_fmt(epoch))}</td><td>{_text(text)}</td></tr>" for epoch, text in warnings)
    return (f"<h3>Health warnings <small>{len(warnings)}</small></h3>\n"
            f'<table class="warnings"><tr><th>epoch</th><th>warning</th></tr>{rows}</table>')


# ------------------------------------------------------------------------------------------------------
# Several runs

def _comparison(records: Sequence[RunRecord], labels: Sequence[str]) -> str:
    progress = [r.progress() for r in records]
    evaluation = [dict(r.evaluations[0][1]) if r.evaluations else {} for r in records]
    rows: list[tuple[str, list[str]]] = [
        ("run directory", [str(r.run.root) for r in records]),
        ("recipe", [r.name for r in records]),
        ("family", [r.family for r in records]),
        ("steps", [_fmt(p.get("steps")) for p in progress]),
        ("epochs", [_fmt(p.get("epochs")) for p in progress]),
        ("ms/step", [_fmt(p.get("ms_per_step"), ".2f") for p in progress]),
        ("seconds", [_fmt(p.get("seconds"), ".1f") for p in progress]),
        ("FD (floor)", [_fd_with_floor(e) for e in evaluation]),
        ("eval protocol", [_protocol(e) for e in evaluation]),
        ("best FD (step)", [f"{_fmt(r.best.get('fd'), '.3f')} ({_fmt(r.best.get('step'))})" if r.best else "-"
                            for r in records]),
    ]
    finals = list(dict.fromkeys(k for p in progress for k in p["final"]))
    translation = all(r.family in TRANSLATION_FAMILIES for r in records)
    rows += [(f"final {column_label(k, translation)}", [_fmt(p["final"].get(k), ".4f") for p in progress])
             for k in finals]
    rows.append(("health warnings", [str(len(r.health_warnings())) for r in records]))
    differences = recipe_differences([r.recipe for r in records])
    head = "".join(f"<th>{_text(label)}</th>" for label in labels)
    body = "".join(f"<tr><th>{_text(name)}</th>{''.join(f'<td>{_text(v)}</td>' for v in values)}</tr>"
                   for name, values in rows)
    if differences:
        body += f'<tr class="section"><th colspan="{len(records) + 1}">recipe keys that differ</th></tr>'
        body += "".join(f'<tr><th><code>{_text(key)}</code></th>'
                        + "".join(f"<td><code>{_text(_yaml_value(v))}</code></td>" for v in values) + "</tr>"
                        for key, values in differences)
    else:
        body += f'<tr class="section"><th colspan="{len(records) + 1}">the recipes are identical</th></tr>'
    measured = {_protocol(e) for e in evaluation if e}
    caveat = ('<p class="problem">These FDs were measured differently (see eval protocol); they are not comparable '
              "until gan eval runs each with the same --n and --against.</p>\n" if len(measured) > 1 else "")
    latest = []
    for record, label in zip(records, labels):
        grids = record.grids
        latest.append(_figure(grids[-1].path, f"{label}: {grids[-1].label(record.steps_per_epoch)}") if grids else
                      f'<figure class="empty"><figcaption>{_text(label)}: no sample grids yet</figcaption></figure>')
    series = [(label, r.metrics, r.steps_per_epoch) for r, label in zip(records, labels) if r.metrics]
    curves = (f'<h3>Loss curves, overlaid</h3>\n<div class="scroll">'
              f'{_image(draw_loss_curves(series), "image/png", "loss curves of all runs")}</div>' if series else "")
    return ('<section class="comparison" id="comparison">\n<h2>Comparison</h2>\n'
            f'<div class="scroll"><table class="compare"><tr><th></th>{head}</tr>{body}</table></div>\n{caveat}'
            f'<h3>Latest samples</h3>\n<div class="grids">\n{"".join(latest)}\n</div>\n{curves}\n</section>')


def _fd_with_floor(result: Mapping[str, Any]) -> str:
    fd, floor = _dig(result, "metrics.fd"), _dig(result, "floor.fd")
    if fd is None:
        return "-"
    return f"{_fmt(fd, '.3f')} ({_fmt(floor, '.3f')})" if floor is not None else _fmt(fd, ".3f")


def _protocol(result: Mapping[str, Any]) -> str:
    if not result:
        return "-"
    return (f"{_fmt(result.get('n_fake'))} vs {_fmt(result.get('n_real'))} {_fmt(result.get('split'))}, "
            f"evaluator {_evaluator_id(result, 12)}")


def _evaluator_id(result: Mapping[str, Any], length: int) -> str:
    """``id 1234...``; a result recorded before evaluator ids shows its evaluator file's ``sha256 ...`` (the
    protocol fields are ``gan_cli.evaluation.results``')."""
    if "evaluator_id" in result:
        return f"id {str(result['evaluator_id'])[:length]}"
    return f"sha256 {str(result.get('evaluator_sha256', '-'))[:length]}"


# ------------------------------------------------------------------------------------------------------
# HTML pieces

def _figure(path: Path, caption: str) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return f'<figure class="empty"><figcaption>{_text(caption)}: unreadable</figcaption></figure>'
    return (f"<figure>{_image(data, 'image/png', caption, pixelated=True)}"
            f"<figcaption>{_text(caption)}</figcaption></figure>")


def _image(data: bytes, mime: str, alt: str, *, pixelated: bool = False) -> str:
    """An ``<img>`` with the picture inline, shown at its own size (1 image pixel = 1 CSS pixel)."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
        size = f' width="{width}" height="{height}"'
    except OSError:
        size = ""
    encoded = base64.b64encode(data).decode("ascii")
    css = ' class="pixelated"' if pixelated else ""
    return f'<img{css}{size} alt="{_text(alt)}" src="data:{mime};base64,{encoded}">'


def _key_value_table(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_text(k)}</th><td>{_text(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts">{body}</table>'


def _text(value: str) -> str:
    return html.escape(value, quote=True)


def _fmt(value: Any, spec: str = "") -> str:
    """A number with ``spec`` (ints and text as they are); ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and not spec:
        return str(int(value))
    if isinstance(value, (int, float)) and spec:
        return format(value, spec)
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return str(value)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _part(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``data[key]`` when it is an object, else an empty one (results written by older versions lack parts)."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _dig(data: Mapping[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


_MISSING = object()


def _yaml_value(value: Any) -> str:
    """A recipe value as YAML writes it (``null``, ``true``, ``[16, 32]``)."""
    if isinstance(value, str):
        return value
    return json.dumps(value) if value is not None else "null"


def _read_json(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data: dict[str, Any] = read_json(path, dict)
    except JsonFileError as exc:
        problems.append(f"{path.name}: {exc.reason if exc.wrong_kind else 'unreadable or not JSON'}; left out")
        return None
    except OSError:
        problems.append(f"{path.name}: unreadable or not JSON; left out")
        return None
    return data


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1b1b1b;background:#fff;
line-height:1.4}
h1{font-size:1.5rem;margin:0 0 .2rem}h2{font-size:1.25rem;border-bottom:2px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}h3{font-size:1.05rem;margin:1.2rem 0 .4rem}small{color:#666;font-weight:normal}
.meta,.note{color:#555;font-size:.9rem;margin:.2rem 0}.problem{color:#a40000}
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;
vertical-align:top}th{background:#f5f5f5;font-weight:600}table.compare td,table.numbers td{text-align:right}
tr.section th{background:#e8eef7}caption{caption-side:bottom;color:#555;font-size:.85rem;text-align:left}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.6rem;overflow-x:auto;font-size:.8rem;max-height:40rem}
code{font-size:.85rem}.scroll{overflow-x:auto}
.grids{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
figure{margin:0;flex:none}figcaption{font-size:.85rem;color:#444;margin-top:.2rem}
img{display:block;max-width:none}img.pixelated{image-rendering:pixelated}
"""
