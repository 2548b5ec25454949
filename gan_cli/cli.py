"""The ``gan`` command: parse options, call one library function, report. TensorFlow is imported lazily."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gan_cli import __version__
from gan_cli.console import QUIET, VERBOSE, library_echo, progress_bars, say, verbosity
from gan_cli.errors import GanError, TrainingInterrupted, UsageError


def _quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter hidden (unless ``--debug``).

    TensorFlow 2.21 prints oneDNN notices through absl before any log level applies, so the
    process's stderr is pointed at /dev/null while it is imported. Import errors still propagate.
    C++ log lines below FATAL are hidden too (level 3): Grappler's remapper logs "remapper failed" as an
    error when it cannot fuse a BiasAdd + LeakyReLU gradient (the U-Net and PatchGAN have that pattern) and
    then simply runs the graph unfused; failures that matter reach Python as exceptions. TensorFlow's Python
    warnings (e.g. "deleted with unrestored values" after a checkpoint that does not fit, which gan reports in
    its own line) are hidden the same way.
    """
    root = click.get_current_context().find_root().params
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1" if verbosity() == VERBOSE else "3")
    if "tensorflow" in sys.modules or root.get("debug") or verbosity() == VERBOSE:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    tensorflow.get_logger().setLevel("ERROR")


def _handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn user errors into one line and a non-zero exit; show tracebacks only with ``--debug``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return command(*args, **kwargs)
        except GanError as exc:
            if debug:
                raise
            # an interruption is the user's wish, not an error: its line says where to continue, unprefixed
            say(str(exc) if isinstance(exc, TrainingInterrupted) else f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            say("interrupted", err=True)
            sys.exit(130)
        except click.exceptions.Exit:
            raise
        except (click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug, or an environment problem we did not anticipate
            if debug:
                raise
            first = str(exc).splitlines()[0] if str(exc) else ""
            say(f"Error: {type(exc).__name__}: {first[:300]} (run with gan --debug ... for the traceback)",
                err=True)
            sys.exit(1)

    return wrapper


def _parse_grid(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value)
    if not match or 0 in (int(match.group(1)), int(match.group(2))):
        raise click.BadParameter(f"{value!r}: expected ROWSxCOLS, e.g. 8x8")
    return int(match.group(1)), int(match.group(2))


def _complete_recipe(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of a recipe argument: the shipped recipes' names that start with what is typed, then the
    shell's own file and folder names."""
    from click.shell_completion import CompletionItem

    from gan_cli.recipe.shipped import shipped_names

    try:
        names = [name for name in shipped_names() if name.startswith(incomplete)]
    except GanError:  # the shipped recipes are not on the file system: files only
        names = []
    return [CompletionItem(name) for name in names] + [CompletionItem(incomplete, type="file")]


#: gan's own flags, which every command also takes after its name (``gan train R -q`` is ``gan -q train R``).
_GLOBAL_FLAGS = ((("--debug",), "Same as gan --debug: full tracebacks instead of one-line errors."),
                 (("-q", "--quiet"), "Same as gan --quiet: only results, warnings and errors."),
                 (("-v", "--verbose"), "Same as gan --verbose: more detail."))


def _set_root_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """A global flag given after a command's name: set it on the root command, where every reader looks."""
    if not value:
        return
    root = ctx.find_root()
    root.params[str(param.name)] = True
    if root.params.get("quiet") and root.params.get("verbose"):
        raise click.UsageError("--quiet and --verbose contradict each other; give one", ctx)


class _GanGroup(click.Group):
    """A group whose commands, and its sub-groups' commands, also take gan's own flags after their names."""

    group_class = type  # sub-groups (gan recipes) are _GanGroups too

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        known = {opt for param in cmd.params for opt in param.opts}
        for opts, help_text in _GLOBAL_FLAGS:
            if not known.intersection(opts):
                cmd.params.append(click.Option(opts, is_flag=True, expose_value=False, callback=_set_root_flag,
                                               help=help_text))
        super().add_command(cmd, name)


@click.group(cls=_GanGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gan")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.option("-q", "--quiet", is_flag=True, help="Print only results, warnings and errors (no progress bars).")
@click.option("-v", "--verbose", is_flag=True, help="Print more: TensorFlow's warnings, model sizes before training.")
def cli(debug: bool, quiet: bool, verbose: bool) -> None:
    """Train Generative Adversarial Networks with Keras 3 from YAML recipes.

    Exit codes: 0 success, 1 failure (one line on stderr says why), 2 usage error (an option or argument that
    cannot be, e.g. --label out of range), 130/143 interrupted by SIGINT/SIGTERM (after saving a checkpoint).
    NO_COLOR=1 turns colour off. --debug, -q and -v may also follow the command (gan train R -q).

    \b
    Examples:
      gan recipes list
      gan train digits_gan --out runs/digits
      gan report runs/digits                   # then open runs/digits/report.html
      gan sample runs/digits --n 64 --out digits.png
      gan info runs/digits
    """
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose contradict each other; give one")


@cli.command(short_help="Train the GAN a recipe describes into a run directory.")
@click.argument("target", type=click.Path(path_type=Path), shell_complete=_complete_recipe)
@click.option("--out", "out", type=click.Path(path_type=Path),
              help="Run directory (default: runs/NAME, or runs/NAME-2, ... if taken).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe field by dotted key; VALUE is YAML. Repeatable.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="Shorthand for --set seed=N.")
@click.option("--resume", is_flag=True,
              help="Continue the run in TARGET (a run directory) or --out from its latest checkpoint.")
@click.option("--allow-changes", "allow_changes", multiple=True, metavar="KEY[,KEY...]",
              help="With --resume: let --set (or the recipe) change these keys or sections of the run's recipe "
                   "beyond train.epochs/steps, sampling, checkpoints, eval, health and logs; recorded in changes.json.")
@click.option("--dry-run", is_flag=True, help="Print the resolved recipe and the models' sizes, then exit.")
@click.option("--smoke", is_flag=True,
              help="A few steps on a slice of the data into --out (default: a temporary directory), then check the "
                   "run directory is complete; exit 0 when it is (for CI).")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: only on a terminal).")
@_handle_errors
def train(target: Path, out: Path | None, overrides: tuple[str, ...], seed: int | None, resume: bool,
          allow_changes: tuple[str, ...], dry_run: bool, smoke: bool, progress: bool | None) -> None:
    """Train the GAN a recipe describes and write a run directory.

    \b
    Examples:
      gan train recipes/digits_gan.yaml --out runs/digits
      gan train recipes/mnist_gan.yaml --set train.epochs=5 --set train.batch_size=64
      gan train recipes/digits_gan.yaml --dry-run
      gan train runs/digits --resume --set train.epochs=400
      gan train runs/digits --resume --set optimizers.generator.learning_rate=1e-4 \\
          --allow-changes optimizers.generator.learning_rate
      gan train recipes/pix2pix_digits.yaml --smoke      # CI: 4 steps, then check the run directory
    """
    from gan_cli.recipe.schema import dump_recipe
    from gan_cli.training.plan import plan_training

    if smoke and resume:
        raise UsageError("--smoke starts a new run; it does not combine with --resume")
    if smoke and not dry_run:
        _smoke(target, out, overrides, seed, progress)
        return
    if smoke:
        from gan_cli.training.smoke import SMOKE_OVERRIDES

        overrides = (*SMOKE_OVERRIDES, *overrides)
    plan = plan_training(target, out=out, overrides=overrides, seed=seed, resume=resume,
                         allow_changes=allow_changes)
    if dry_run:
        click.echo(dump_recipe(plan.recipe), nl=False)
        click.echo(f"# run directory: {plan.run.root}{' (resume)' if plan.resume else ''}")
        _quiet_tensorflow()
        from gan_cli.training.trainer import describe

        for line in describe(plan.recipe):
            click.echo(f"# {line}")
        return
    _quiet_tensorflow()
    from gan_cli.training.trainer import train as run_training

    echo = library_echo()
    echo(f"training {plan.recipe.name} into {plan.run.root}")
    run_training(plan, echo=echo, progress=progress_bars(progress), verbose=verbosity() == VERBOSE)


def _smoke(target: Path, out: Path | None, overrides: tuple[str, ...], seed: int | None, progress: bool | None) -> None:
    _quiet_tensorflow()
    from gan_cli.training.smoke import smoke_train

    echo = library_echo()
    result = smoke_train(target, out=out, overrides=overrides, seed=seed, echo=echo, progress=progress_bars(progress))
    for line in result.checks:
        echo(f"ok  {line}")
    where = f"run directory {result.run}" if result.run else "temporary run directory removed"
    echo(f"done: smoke run of {result.recipe} passed {len(result.checks)} checks; {where}")


@cli.command(short_help="Draw (or translate) images with a trained generator.")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--n", "count", type=click.IntRange(min=1), help="Number of images (default 64, or the grid's size).")
@click.option("--grid", callback=_parse_grid, help="Grid layout ROWSxCOLS for a .png, e.g. 8x8.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of the latent batch.")
@click.option("--out", type=click.Path(), default="samples.png", show_default=True,
              help="FILE.png (grid), FILE.npz (key x: uint8 N,H,W,C) or DIR/ (one PNG per image).")
@click.option("--label", type=click.IntRange(min=0), help="Conditional GAN: every image of this class.")
@click.option("--per-class", type=click.IntRange(min=1), help="Conditional GAN: N images of each class, a row each.")
@click.option("--vary", metavar="CODE", help="InfoGAN: a traversal grid along code c1 (categorical) or c2, c3, ...")
@click.option("--input", "source", type=click.Path(path_type=Path),
              help="pix2pix/CycleGAN: translate this image or folder of images (default: test examples).")
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True,
              help="CycleGAN: translate A to B or B to A.")
@click.option("--truncation", type=click.FloatRange(min=0.0), metavar="PSI",
              help="Truncation trick: latents psi x z, z from N(0, 1) cut at +-2; lower psi, less variety.")
@click.option("--raw", is_flag=True, help="With train.ema: G's own weights instead of their moving average.")
@click.option("--mix", type=click.IntRange(min=2, max=32), metavar="N",
              help="StyleGAN: an NxN grid, coarse styles of row i's latent with fine styles of column j's.")
@_handle_errors
def sample(target: Path, count: int | None, grid: tuple[int, int] | None, seed: int, out: str, label: int | None,
           per_class: int | None, vary: str | None, source: Path | None, direction: str, truncation: float | None,
           raw: bool, mix: int | None) -> None:
    """Draw images from a trained generator (a run directory or a .keras file).

    \b
    Examples:
      gan sample runs/digits --n 64 --grid 8x8 --out digits.png
      gan sample runs/digits --n 1000 --out digits.npz
      gan sample runs/digits/generator.keras --n 16 --out frames/
      gan sample runs/cgan-digits --label 7 --n 64 --out sevens.png
      gan sample runs/cgan-digits --per-class 10 --out classes.png
      gan sample runs/infogan-digits --vary c1 --out categories.png
      gan sample runs/biggan-digits --truncation 0.5 --out typical.png
      gan sample runs/stylegan-digits --mix 6 --out mixing.png
      gan sample runs/pix2pix-edges --out examples.png          # input | output | target
      gan sample runs/pix2pix-edges --input sketches/ --out translated/
      gan sample runs/cyclegan-thicken --direction b2a --input thick.png --out thin.png
    """
    from gan_cli.files import check_output_folder

    folder = out.endswith(("/", os.sep)) or Path(out).is_dir()
    if grid is not None and (folder or Path(out).suffix == ".npz"):
        kind = "a folder of one PNG per image" if folder else "an .npz array"
        raise UsageError(f"--grid {grid[0]}x{grid[1]}: only a .png is laid out as a grid, and --out {out} is {kind}; "
                         "drop --grid (--n sets the number of images) or write a .png")
    check_output_folder(out)
    _quiet_tensorflow()
    from gan_cli.sampling import is_translation_run, translate
    from gan_cli.sampling import sample as draw

    if source is not None or direction != "a2b" or is_translation_run(target):
        unused = [name for name, value in (("--label", label), ("--per-class", per_class), ("--vary", vary),
                                           ("--grid", grid), ("--truncation", truncation), ("--mix", mix),
                                           ("--raw", True if raw else None)) if value is not None]
        if unused:
            raise UsageError(f"{', '.join(unused)}: for GAN runs; translating takes --input, --direction, --n, "
                             "--seed and --out")
        written = translate(target, out, source=source, direction=direction, count=count, seed=seed)
        click.echo(f"wrote {written[0]}" if len(written) == 1 else f"wrote {len(written)} images to {out}")
        return
    written = draw(target, out, count=count, grid=grid, seed=seed, label=label, per_class=per_class, vary=vary,
                   truncation=truncation, raw=raw, mix=mix)
    click.echo(f"wrote {written[0]}" if len(written) == 1 else f"wrote {len(written)} images to {out}")


@cli.command(name="export", short_help="Write a generator as .keras, SavedModel or TFLite, usable without gan.")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="FILE.keras, FILE.tflite, or a folder for a SavedModel.")
@click.option("--format", "fmt", type=click.Choice(["keras", "savedmodel", "tflite"]),
              help="Default: from --out (.keras, .tflite; anything else is a SavedModel folder).")
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True,
              help="CycleGAN runs: export G (A to B) or F (B to A).")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@_handle_errors
def export(target: Path, out: Path, fmt: str | None, direction: str, force: bool) -> None:
    """Write the generator of TARGET (a run directory, RUN/best or a .keras file) in a form that loads with
    Keras, TensorFlow or TensorFlow Lite alone: stock Keras layers computing in float32, the same weights.

    The SavedModel and TFLite forms have one signature, serving_default: z-space generators take `latent`
    (float32, N x latent_dim), conditional ones also `label` (int32 class indices), InfoGAN ones `category`
    (int32) and `codes` (float32); pix2pix/CycleGAN translators take `input_images` (uint8, N x H x W x C).
    Every form returns `images` (uint8, 0..255) and `images_float` (float32 in [-1, 1]).

    \b
    Examples:
      gan export runs/digits --out digits.keras
      gan export runs/digits --out digits_savedmodel/
      gan export runs/digits --out digits.tflite
      gan export runs/cyclegan-thicken --direction b2a --out thin.tflite
    """
    if out.exists() and not force:
        raise UsageError(f"--out {out}: already exists; pass --force to replace it, or choose another path")
    _quiet_tensorflow()
    from gan_cli.runs.export import describe_signature, export_generator, format_for
    from gan_cli.sampling import load_any_generator

    chosen = format_for(out, fmt)
    loaded, translator = load_any_generator(target, direction)
    written = export_generator(loaded.model, out, chosen, translator=translator)
    click.echo(f"wrote {written} ({chosen}" + ("" if chosen == "keras" else
                                              f"; {describe_signature(loaded.model, translator)}") + ")")


@cli.command(name="eval", short_help="Measure a generator offline (FD beside its floor, KID).")
@click.argument("targets", nargs=-1, type=click.Path(path_type=Path))
@click.option("--n", "count", type=click.IntRange(min=10), default=10000, show_default=True,
              help="Generated images to measure (real: as many, or the whole split if smaller).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of the latents and of the real subset.")
@click.option("--against", type=click.Choice(["test", "train"]), default="test", show_default=True,
              help="Real split to compare with (pix2pix/CycleGAN: the split whose inputs are translated; the FD "
                   "then compares with the other split's targets).")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON instead of a table.")
@click.option("--samples", type=click.Path(path_type=Path), help="Evaluate an .npz of samples (x: uint8 N,H,W,C).")
@click.option("--source", help="Data set to measure against (for --samples, a bare .keras, --build-evaluator).")
@click.option("--data-path", help="data.path for --source (npz/idx/folder, or local mnist/cifar10 files).")
@click.option("--compare", is_flag=True, help="Compare the saved results of several runs side by side.")
@click.option("--force", is_flag=True, help="With --compare: show results even when their protocols differ.")
@click.option("--replace", is_flag=True,
              help="Make this the run's eval.json even when the one there measured more samples (every result is "
                   "also kept in RUN/eval/).")
@click.option("--build-evaluator", "build", is_flag=True, help="(Re)build the evaluator for --source and exit.")
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True,
              help="CycleGAN runs: evaluate G (A to B) or F (B to A).")
@click.option("--truncation", type=click.FloatRange(min=0.0), metavar="PSI",
              help="Measure truncated latents (as gan sample --truncation); kept in RUN/eval/ only.")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: only on a terminal).")
@_handle_errors
def evaluate(targets: tuple[Path, ...], count: int, seed: int, against: str, as_json: bool, samples: Path | None,
             source: str | None, data_path: str | None, compare: bool, force: bool, replace: bool, build: bool,
             direction: str, truncation: float | None, progress: bool | None) -> None:
    """Measure a generator offline with an evaluator trained on the data set itself.

    A run directory keeps every result in RUN/eval/eval-nN-seedS-SPLIT.json, and in RUN/eval.json (what gan
    report, gan info and --compare read) unless the result there measured more samples (--replace).

    \b
    Examples:
      gan eval runs/digits                     # writes runs/digits/eval.json
      gan eval runs/digits --n 2000 --seed 1 --json
      gan eval --samples other_tool.npz --source mnist --n 2000
      gan eval --compare runs/digits runs/digits-b32
      gan eval --compare runs/digits runs/digits-b32 --json
      gan eval --build-evaluator --source fashion_mnist
      gan eval runs/pix2pix-edges              # L1/PSNR/SSIM to the truth, FD to domain B
    """
    from gan_cli.recipe.loading import parse_recipe

    spec = None
    if source is not None:
        spec = parse_recipe({"data": {"source": source, "path": data_path}}, source="--source").data
    if compare:
        _compare(targets, force, as_json)
        return
    _quiet_tensorflow()
    from gan_cli.evaluation import measure
    from gan_cli.evaluation.evaluator import load_or_build_evaluator

    progress = progress_bars(progress)
    # progress notes go to stderr (stdout stays the result, e.g. --json); --quiet keeps only warnings
    quiet = verbosity() == QUIET

    def status(line: str) -> None:
        if not quiet or line.startswith("warning:"):
            say(line, err=True)

    if build:
        if spec is None:
            raise UsageError("--build-evaluator needs --source")
        evaluator = load_or_build_evaluator(spec, echo=status, progress=progress, rebuild=True)
        click.echo(json.dumps(evaluator.info, indent=2))
        return
    if samples is not None:
        if truncation is not None:
            raise UsageError("--truncation: the samples of --samples are already drawn; truncate when drawing them "
                             "(gan sample --truncation)")
        if spec is None or targets:
            raise UsageError("--samples needs --source and no TARGET")
        given = click.get_current_context().get_parameter_source("count") != click.core.ParameterSource.DEFAULT
        result = measure.evaluate_samples(samples, spec, n=count if given else None, seed=seed, split=against,
                                         echo=status, progress=progress)
    else:
        if len(targets) != 1:
            raise UsageError("give one run directory or .keras generator (or --samples, or --compare RUNS)")
        from gan_cli.sampling import is_translation_run

        if is_translation_run(targets[0]):
            from gan_cli.evaluation.translation import evaluate_translation, format_translation

            if truncation is not None:
                raise UsageError("--truncation: for generators of latents; a translation run's inputs are images")
            result = evaluate_translation(targets[0], n=count, seed=seed, split=against, direction=direction,
                                          echo=status, progress=progress, replace=replace)
            click.echo(json.dumps(result, indent=2) if as_json
                       else f"{measure.format_result(result)}\n{format_translation(result)}")
            return
        result = measure.evaluate_generator(targets[0], n=count, seed=seed, split=against, source=spec,
                                           echo=status, progress=progress, replace=replace, truncation=truncation)
    click.echo(json.dumps(result, indent=2) if as_json else measure.format_result(result))


def _compare(targets: tuple[Path, ...], force: bool, as_json: bool) -> None:
    """Saved results side by side (reads JSON only: no TensorFlow); refuses, saying what differs and how to
    make them comparable, when they were measured differently (unless ``force``)."""
    if len(targets) < 2:
        raise UsageError("--compare needs at least two runs (or eval.json files)")
    from gan_cli.evaluation import results as saved

    results = [saved.load_result(t) for t in targets]
    names = saved.result_names(targets)
    differences = saved.protocol_differences(results)
    what = "; ".join(d.describe(names) for d in differences)
    if differences and not force:
        advice = saved.comparison_advice(targets, results, differences)
        raise GanError(f"results were measured differently: {what}; {advice} (or pass --force to show them anyway)")
    if differences:
        say(f"WARNING: not comparable: {what}", err=True)
    click.echo(json.dumps(saved.comparison_json(names, targets, results, differences), indent=2) if as_json
               else saved.format_comparison(names, results))


@cli.command(short_help="Say what a run, model, recipe or eval result holds.")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON instead of lines.")
@_handle_errors
def info(target: Path, as_json: bool) -> None:
    """Say what TARGET is and what it holds: a run directory (recipe, steps trained, latest and best checkpoints,
    evaluation, health warnings), a .keras model, a recipe or an eval .json.

    \b
    Examples:
      gan info runs/digits
      gan info runs/digits --json
      gan info runs/digits/generator.keras
      gan info recipes/dcgan_digits.yaml
    """
    from gan_cli.run_info import describe_path, format_info

    _quiet_tensorflow()  # checkpoints and models are read with TensorFlow's and Keras' own code
    facts = describe_path(target)
    click.echo(json.dumps(facts, indent=2) if as_json else format_info(facts))


@cli.command(short_help="Write a self-contained HTML page about one or more runs.")
@click.argument("runs", nargs=-1, required=True, metavar="RUN_DIR...", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path),
              help="The HTML file to write (default: RUN/report.html for one run, ./report.html for several).")
@_handle_errors
def report(runs: tuple[Path, ...], out: Path | None) -> None:
    """Write one self-contained HTML page about a run (recipe, summary, sample grids over time, loss curves,
    evaluation, best checkpoint, health warnings), or comparing several runs side by side. Images are embedded;
    the page opens offline in any browser.

    \b
    Examples:
      gan report runs/digits                       # writes runs/digits/report.html
      gan report runs/digits runs/digits-b32       # comparison, writes ./report.html
      gan report runs/* --out all_runs.html
    """
    from gan_cli.files import check_output_folder
    from gan_cli.run_report import write_report

    if out is not None:
        check_output_folder(out)
    click.echo(f"wrote {write_report(runs, out)}")


@cli.command(short_help="Make a progress GIF from a run's sample grids.")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="The GIF to write (default: RUN/progress.gif).")
@click.option("--fps", type=click.FloatRange(0.1, 50), default=4.0, show_default=True,
              help="Frames per second (the last frame stays 2 s).")
@_handle_errors
def animate(run: Path, out: Path | None, fps: float) -> None:
    """Turn a run's sample grids into an animated GIF, one captioned frame per grid in training order.

    \b
    Examples:
      gan animate runs/digits                      # writes runs/digits/progress.gif
      gan animate runs/digits --out digits.gif --fps 2
    """
    from gan_cli.files import check_output_folder
    from gan_cli.runs.progress_gif import animate_run

    if out is not None and out.suffix.lower() != ".gif":
        raise click.BadParameter(f"{out}: give a file name ending in .gif", param_hint="--out")
    if out is not None:
        check_output_folder(out)
    written, frames = animate_run(run, out, fps)
    click.echo(f"wrote {written} ({frames} frames)")


@cli.group(short_help="List, show, copy and validate recipes.")
def recipes() -> None:
    """The shipped recipes, and tools for sharing your own: list, show, new, validate.

    A shipped recipe's NAME works wherever a recipe file does (gan train NAME, extends: NAME).

    \b
    Examples:
      gan recipes list
      gan recipes show digits_gan
      gan recipes new my_gan --from digits_gan      # writes ./my_gan.yaml to edit
      gan recipes validate shared-recipes/*.yaml    # exit 1 if any is invalid (CI)
    """


@recipes.command(name="list")
@_handle_errors
def recipes_list() -> None:
    """List the shipped recipes, one line each with its description.

    \b
    Examples:
      gan recipes list
    """
    from gan_cli.recipe.catalog import list_shipped

    shipped = list_shipped()
    width = max(len(entry.name) for entry in shipped)
    for entry in shipped:
        click.echo(f"{entry.name:<{width}}  {entry.description}")


@recipes.command(name="show", short_help="Print a recipe as written and fully resolved.")
@click.argument("name", shell_complete=_complete_recipe)
@_handle_errors
def recipes_show(name: str) -> None:
    """Print a recipe as written, then resolved (extends merged, every default filled in).

    NAME is a shipped recipe's name or a recipe file. The output is two YAML documents separated by ---.

    \b
    Examples:
      gan recipes show digits_gan
      gan recipes show my_gan.yaml
    """
    from gan_cli.recipe.catalog import show_recipe

    click.echo(show_recipe(name), nl=False)


@recipes.command(name="new", short_help="Copy a recipe to ./NAME.yaml to edit.")
@click.argument("name")
@click.option("--from", "source", required=True, metavar="RECIPE", shell_complete=_complete_recipe,
              help="The shipped recipe (or a recipe file) to start from.")
@click.option("--force", is_flag=True, help="Overwrite ./NAME.yaml if it exists.")
@_handle_errors
def recipes_new(name: str, source: str, force: bool) -> None:
    """Copy a recipe to ./NAME.yaml, with name: NAME, to edit and share.

    \b
    Examples:
      gan recipes new my_gan --from digits_gan
      gan recipes new my_gan --from digits_gan --force
    """
    from gan_cli.recipe.catalog import new_recipe

    path = new_recipe(name, source, force=force)
    click.echo(f"wrote {path} (from {source}); train it with: gan train {path}")


@recipes.command(name="validate", short_help="Validate recipe files; exit 1 if any is invalid.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_handle_errors
def recipes_validate(files: tuple[Path, ...]) -> None:
    """Load and fully validate recipe files (a folder: its .yaml files); exit 1 if any is invalid.

    Prints "ok FILE" or "FILE: the problem" per file.

    \b
    Examples:
      gan recipes validate my_gan.yaml
      gan recipes validate shared-recipes/
    """
    from gan_cli.recipe.catalog import validate_files

    results = validate_files(files)
    for path, problem in results:
        click.echo(f"ok {path}" if problem is None else problem)
    if any(problem is not None for _, problem in results):
        sys.exit(1)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="gan")
