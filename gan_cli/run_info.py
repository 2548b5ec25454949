"""``gan info``: say what a path is and what it holds, from its files alone (nothing is trained or measured).

A path is one of: a run directory (``recipe.yaml`` inside), a run's ``best/`` snapshot, a ``.keras`` model, a
recipe (``.yaml``/``.yml``) or a ``gan eval`` result (``.json``). :func:`describe_path` returns a JSON-able dict
(``kind`` first) and :func:`format_info` turns it into aligned ``label  value`` lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gan_cli.errors import GanError
from gan_cli.files import read_json_object
from gan_cli.runs.run_dir import RunDir, read_changes

#: What ``gan info`` accepts, for the error message.
KINDS = "a run directory, a .keras model, a recipe .yaml or an eval .json"


def describe_path(target: str | Path) -> dict[str, Any]:
    """What ``target`` is and what it holds.

    Raises:
        GanError: the path does not exist or is none of :data:`KINDS` (one line, naming the path).
        RecipeError, RunDirError: a recipe or model file that cannot be read (their own one-line messages).
    """
    path = Path(target)
    if not path.exists():
        raise GanError(f"{path}: no such file or directory; gan info takes {KINDS}")
    if path.is_dir():
        if RunDir(path).is_run():
            return describe_run(path)
        if RunDir(path).is_snapshot():
            return _describe_snapshot(path)
        raise GanError(f"{path}: not a run directory (no recipe.yaml); gan info takes {KINDS}")
    if path.suffix == ".keras":
        return describe_model(path)
    if path.suffix in (".yaml", ".yml"):
        return describe_recipe(path)
    if path.suffix == ".json":
        from gan_cli.evaluation.results import load_result

        return {"kind": "evaluation result", "path": str(path), "result": load_result(path)}
    raise GanError(f"{path}: unknown file type {path.suffix or '(no suffix)'}; gan info takes {KINDS}")


def describe_run(root: Path) -> dict[str, Any]:
    """A run directory: recipe, how far it trained, its checkpoints (each verified against its manifest), the
    exported generator, the best snapshot, the latest evaluation, health warnings and resume changes."""
    from gan_cli.recipe.loading import load_recipe
    from gan_cli.runs.checkpoints import committed_checkpoints, verify_checkpoint
    from gan_cli.runs.run_dir import read_metrics

    run = RunDir(root)
    recipe = load_recipe(run.recipe)
    summary = read_json_object(run.summary)
    info: dict[str, Any] = {"kind": f"{recipe.family} run directory", "path": str(root),
                            "recipe": _recipe_facts(recipe)}
    checkpoints = committed_checkpoints(run.checkpoints) if run.checkpoints.is_dir() else []
    info["checkpoints"] = [{"step": step, "path": str(prefix), "problem": verify_checkpoint(prefix, manifest)}
                           for step, prefix, manifest in checkpoints]
    step = checkpoints[0][0] if checkpoints else 0
    trained: dict[str, Any] = {"steps": step, "finished": False}
    if summary:
        kept = ("steps", "epochs", "steps_per_epoch", "finished", "seconds", "ms_per_step", "precision",
                "jit_compile", "data")
        trained.update({key: summary[key] for key in kept if key in summary})
    info["trained"] = trained
    exported = read_json_object(run.generator_info)
    if run.generator.is_file():
        info["generator"] = {"path": str(run.generator), **{k: exported[k] for k in ("step", "epoch") if k in exported}}
    best = read_json_object(RunDir(run.best).generator_info)
    if best:
        info["best"] = {"path": str(run.best), **best}
    if run.eval_json.is_file():
        info["eval"] = _eval_facts(read_json_object(run.eval_json))
    if run.eval_results.is_dir():  # every result, one per protocol (gan_cli.evaluation.results)
        info["eval_results"] = sorted(str(path) for path in run.eval_results.glob("*.json"))
    try:
        rows = read_metrics(run.metrics)
    except (OSError, ValueError):
        rows = []
    info["health"] = [{"epoch": row.get("epoch"), "warning": row["health"]} for row in rows if row.get("health")]
    info["changes"] = read_changes(run)
    return info


def _describe_snapshot(path: Path) -> dict[str, Any]:
    """``RUN/best``: the best-FD snapshot."""
    return {"kind": "best-FD snapshot of a run", "path": str(path), "run": str(path.parent),
            "best": {"path": str(path), **read_json_object(RunDir(path).generator_info)}}


def describe_model(path: Path) -> dict[str, Any]:
    """A ``.keras`` file: its inputs, output and parameter count (loaded with ``safe_mode=True``; a model holding
    a Lambda layer is refused)."""
    from gan_cli.sampling import _load_model

    model = _load_model(path, "model")
    inputs = model.inputs if isinstance(model.inputs, list) else [model.inputs]
    return {"kind": "Keras model", "path": str(path), "name": model.name,
            "inputs": [list(tensor.shape[1:]) for tensor in inputs],
            "output": list(model.outputs[0].shape[1:]), "parameters": int(model.count_params())}


def describe_recipe(path: Path) -> dict[str, Any]:
    """A recipe file, validated and resolved (data is not loaded and no model is built)."""
    from gan_cli.recipe.loading import load_recipe

    return {"kind": "recipe", "path": str(path), "recipe": _recipe_facts(load_recipe(path))}


def _recipe_facts(recipe: Any) -> dict[str, Any]:
    train = recipe.train
    facts = {"name": recipe.name, "family": recipe.family, "data": recipe.data.source,
             "generator": recipe.generator.architecture, "discriminator": recipe.discriminator.architecture,
             "epochs": train.epochs, "batch_size": train.batch_size}
    if train.steps is not None:
        facts["step_cap"] = train.steps
    if recipe.family == "gan":
        facts["loss"] = recipe.loss.name
    return facts


def _eval_facts(result: Mapping[str, Any]) -> dict[str, Any]:
    metrics = result.get("metrics", {})
    facts = {key: result[key] for key in ("evaluated", "n_fake", "split", "seed", "evaluator_id", "evaluator_sha256")
             if key in result}
    translation = result.get("translation", {})
    output = translation.get("output", {}) if isinstance(translation, Mapping) else {}
    for key in ("fd", "l1", "psnr", "ssim"):  # pix2pix/CycleGAN: L1/PSNR/SSIM of the outputs against the truth
        value = metrics.get(key, output.get(key) if isinstance(output, Mapping) else None)
        if isinstance(value, int | float):
            facts[key] = value
    if isinstance(translation, Mapping) and "direction" in translation:
        facts["direction"] = translation["direction"]
    floor = result.get("floor", {})
    if isinstance(floor, Mapping) and "fd" in floor:
        facts["fd_floor"] = floor["fd"]
    return facts


def format_info(info: Mapping[str, Any]) -> str:
    """Aligned ``label  value`` lines for a person."""
    lines = [("kind", info["kind"]), ("path", info["path"])]
    recipe = info.get("recipe")
    if recipe:
        loss = f", loss {recipe['loss']}" if "loss" in recipe else ""
        cap = f" (capped at {recipe['step_cap']} steps)" if "step_cap" in recipe else ""
        lines += [("recipe", f"{recipe['name']}: {recipe['family']}{loss}, data {recipe['data']}, generator "
                             f"{recipe['generator']}, discriminator {recipe['discriminator']}"),
                  ("schedule", f"{recipe['epochs']} epochs, batch {recipe['batch_size']}{cap}")]
    if "trained" in info:
        lines += _run_lines(info)
    if info["kind"] == "Keras model":
        inputs = ", ".join(str(tuple(shape)) for shape in info["inputs"])
        lines += [("model", info["name"]), ("inputs", inputs), ("output", str(tuple(info["output"]))),
                  ("parameters", f"{info['parameters']:,}")]
    if "result" in info:
        from gan_cli.evaluation.measure import format_result

        return "\n".join(f"{label:<12}{value}" for label, value in lines) + "\n" + format_result(info["result"])
    if "best" in info and "trained" not in info:
        lines.append(("best", _best_line(info["best"])))
    return "\n".join(f"{label:<12}{value}" for label, value in lines)


def _run_lines(info: Mapping[str, Any]) -> list[tuple[str, str]]:
    trained = info["trained"]
    state = "finished" if trained.get("finished") else "not finished (continue with gan train RUN --resume)"
    timing = ""
    if "seconds" in trained:
        speed = f", {trained['ms_per_step']:.1f} ms/step" if trained.get("ms_per_step") is not None else ""
        timing = f", {trained['seconds']:.1f} s{speed}"
    epochs = f" ({trained['epochs']:g} epochs)" if "epochs" in trained else ""
    lines = [("trained", f"{trained['steps']} steps{epochs}, {state}{timing}")]
    if "precision" in trained:
        xla = ", XLA" if trained.get("jit_compile") is True else ""
        lines.append(("precision", f"{trained['precision']}{xla}"))
    if "data" in trained:
        lines.append(("data", trained["data"]))
    checkpoints = info["checkpoints"]
    if checkpoints:
        latest = checkpoints[0]
        check = f"damaged: {latest['problem']}" if latest["problem"] else "files match its manifest"
        lines.append(("latest", f"{latest['path']} (step {latest['step']}; {check})"))
        older = [f"{c['step']}{' (damaged)' if c['problem'] else ''}" for c in checkpoints[1:]]
        if older:
            lines.append(("older", "steps " + ", ".join(older)))
    else:
        lines.append(("latest", "no checkpoint yet"))
    if "generator" in info:
        at = f" (exported at step {info['generator']['step']})" if "step" in info["generator"] else ""
        lines.append(("generator", f"{info['generator']['path']}{at}"))
    if "best" in info:
        lines.append(("best", _best_line(info["best"])))
    if "eval" in info:
        facts = info["eval"]
        floor = f" (floor {facts['fd_floor']:.3f})" if "fd_floor" in facts else ""
        scores = ", ".join(f"{key.upper()} {facts[key]:.4g}{floor if key == 'fd' else ''}"
                           for key in ("fd", "l1", "psnr", "ssim") if key in facts)
        protocol = f"; {facts['n_fake']} samples vs {facts['split']}" if "n_fake" in facts and "split" in facts else ""
        protocol += f" ({facts['direction']})" if "direction" in facts else ""
        others = len(info.get("eval_results", [])) - 1
        protocol += f"; {others} more result(s) in {Path(info['path']) / 'eval'}" if others > 0 else ""
        lines.append(("eval", f"{scores}{protocol}"))
    else:
        lines.append(("eval", "none yet (gan eval RUN)"))
    health = info["health"]
    lines.append(("health", "no warnings" if not health else
                  f"{len(health)} epoch(s) with warnings; last, epoch {health[-1]['epoch']}: {health[-1]['warning']}"))
    if info["changes"]:
        last = info["changes"][-1]
        keys = ", ".join(last.get("changes", {}))
        lines.append(("changes", f"{len(info['changes'])} resume(s) changed the recipe (changes.json); last at step "
                                 f"{last.get('step')}: {keys}"))
    return lines


def _best_line(best: Mapping[str, Any]) -> str:
    fd = f"FD {best['fd']:.3f}" if isinstance(best.get("fd"), int | float) else "FD ?"
    where = f" at step {best['step']}" if "step" in best else ""
    return f"{best.get('path', '')} ({fd}{where})".strip()
