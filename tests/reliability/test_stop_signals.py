"""A stop signal, wherever in the loop it lands, checkpoints the last completed step and names it; resuming after
each stop ends exactly where an uninterrupted run ends. Deterministic: the signal is raised from inside the loop
at each point where one can arrive, for the GAN loop and the image-to-image loop."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import TINY_PIX2PIX, TINY_RECIPE, assert_same_checkpoint

from gan_cli.errors import TrainingInterrupted
from gan_cli.runs.checkpoints import CheckpointStore, committed_checkpoints
from gan_cli.training import trainer, translation_trainer
from gan_cli.training.epoch_loop import EpochLoop
from gan_cli.training.plan import plan_training

#: 6 epochs, a checkpoint every 2 (so some epoch ends have none of their own), a grid after every epoch
SCHEDULE = ["train.epochs=6", "checkpoints.every_epochs=2", "checkpoints.keep=10", "sampling.every_epochs=1"]
#: the GAN run also carries the modern techniques' state (EMA weights, ADA's p and counters) over every stop
MODERN = ["train.ema.decay=0.9", "augment.policy=[translation, cutout]", "augment.ada=true",
          "augment.ada_interval=3", "augment.ada_images=500"]



def train(target: Path, out: Path, resume: bool = False, modern: bool = False) -> dict[str, Any]:
    overrides = () if resume else SCHEDULE + (MODERN if modern else [])
    plan = plan_training(target, out=out, overrides=overrides, resume=resume)
    return trainer.train(plan, echo=lambda line: None, progress=False)


def raise_at(step_now: Callable[..., int], target: int, number: int, original: Callable[..., Any]
             ) -> Callable[..., Any]:
    """``original`` (a method) raising signal ``number`` once, on its first call where ``step_now(*args)`` is
    ``target``, before doing its own work."""
    fired = []

    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not fired and step_now(self, *args) == target:
            fired.append(True)
            signal.raise_signal(number)
        return original(self, *args, **kwargs)

    return wrapped


def after_steps(stepper: Any, target: int, number: int) -> Callable[..., Any]:
    """``stepper.epoch_steps`` whose steps raise ``number`` right after global step ``target`` completes."""
    original = stepper.epoch_steps

    def epoch_steps(self: Any, *args: Any) -> Any:
        run_steps = original(self, *args)

        def run(index: int, count: int, at: int) -> Any:
            results = run_steps(index, count, at)
            if at + count == target:
                signal.raise_signal(number)
            return results

        return run

    return epoch_steps


@pytest.mark.parametrize("family", ["gan", "pix2pix"])
def test_a_signal_at_any_point_of_the_loop_checkpoints_the_last_step_and_resume_is_exact(
        family: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(TINY_RECIPE if family == "gan" else TINY_PIX2PIX)
    stepper = trainer.GanStepper if family == "gan" else translation_trainer.TranslationStepper
    modern = family == "gan"
    straight = train(recipe, tmp_path / "straight", modern=modern)
    per_epoch, run = straight["steps_per_epoch"], tmp_path / "run"
    assert per_epoch >= 2

    points: list[tuple[str, int, Callable[[pytest.MonkeyPatch], None]]] = [
        ("before the first step", 0,
         lambda patch: patch.setattr(EpochLoop, "_steps", raise_at(lambda s, e, step, *a: step, 0, signal.SIGINT,
                                                                   EpochLoop._steps))),
        ("mid-epoch", per_epoch // 2,
         lambda patch: patch.setattr(stepper, "epoch_steps", after_steps(stepper, per_epoch // 2, signal.SIGINT))),
        ("right after an epoch's last step", per_epoch,
         lambda patch: patch.setattr(stepper, "epoch_steps", after_steps(stepper, per_epoch, signal.SIGTERM))),
        ("during the epoch-end measurements", 2 * per_epoch,
         lambda patch: patch.setattr(stepper, "inspect", raise_at(lambda s, row, *a: int(row["step"]), 2 * per_epoch,
                                                                  signal.SIGINT, stepper.inspect))),
        ("during sample-grid writing", 3 * per_epoch,
         lambda patch: patch.setattr(EpochLoop, "_write_grid", raise_at(lambda s, step: step, 3 * per_epoch,
                                                                        signal.SIGINT, EpochLoop._write_grid))),
        ("during a checkpoint write", 4 * per_epoch,
         lambda patch: patch.setattr(CheckpointStore, "save", raise_at(lambda s, step, *a: step, 4 * per_epoch,
                                                                       signal.SIGTERM, CheckpointStore.save))),
    ]
    for where, expected, arm in points:
        with monkeypatch.context() as patch:
            arm(patch)
            with pytest.raises(TrainingInterrupted) as stopped:
                train(run if run.exists() else recipe, run, resume=run.exists(), modern=modern)
        message = str(stopped.value)
        assert f"at step {expected} " in message, (where, message)
        assert f"saved checkpoint ckpt-{expected} (step {expected})" in message, (where, message)
        assert committed_checkpoints(run / "checkpoints")[0][0] == expected, where
        assert stopped.value.exit_code in (130, 143)
    assert train(run, run, resume=True)["finished"]
    assert_same_checkpoint(tmp_path / "straight", run)
    grids = sorted(p.name for p in (run / "samples").glob("epoch_*.png"))
    assert grids == sorted(p.name for p in (tmp_path / "straight" / "samples").glob("epoch_*.png"))
