"""Training checkpoints: models, optimizers, counters and RNG state, saved atomically.

Keras 3 models are not tracked as objects by ``tf.train.Checkpoint``, so the family hands over
explicit variable lists (weights, BatchNorm statistics, dropout SeedGenerator states, optimizer
slots and iteration counters). ``tf.train.CheckpointManager`` writes the data files first and
replaces its small index file last, so a run killed while saving keeps the previous good checkpoint.
The user-facing ``generator.keras`` is exported beside it, also through a temporary file.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gan_cli.errors import RunDirError
from gan_cli.files import atomic_path, replace_directory


class CheckpointStore:
    """Save and restore one run's training state.

    Args:
        directory: the run's ``checkpoints/`` folder.
        state: named lists of variables to save (from the family's ``checkpoint_state()``).
        fixed_latents: the latent batch behind every sample grid; saved with the state.
        keep: how many checkpoints to keep.
    """

    def __init__(self, directory: Path, state: Mapping[str, list[Any]], fixed_latents: np.ndarray,
                 keep: int) -> None:
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.fixed_latents = tf.Variable(fixed_latents, trainable=False, name="fixed_latents")
        self._checkpoint = tf.train.Checkpoint(step=self.step, fixed_latents=self.fixed_latents, **state)
        self._manager = tf.train.CheckpointManager(self._checkpoint, str(directory), max_to_keep=keep,
                                                   checkpoint_name="ckpt")

    @property
    def latest(self) -> str | None:
        """Path prefix of the newest complete checkpoint, if any."""
        return self._manager.latest_checkpoint

    def save(self, step: int) -> str:
        """Write a checkpoint for the state after ``step`` steps; returns its path prefix."""
        self.step.assign(step)
        return str(self._manager.save(checkpoint_number=step))

    def restore_latest(self) -> int | None:
        """Restore the newest checkpoint; returns its step, or None when there is none.

        Raises:
            RunDirError: the checkpoint does not match the models the recipe builds.
        """
        latest = self.latest
        if latest is None:
            return None
        try:
            self._checkpoint.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as exc:
            raise RunDirError(f"{latest}: checkpoint does not match the run's recipe "
                              f"({str(exc).splitlines()[0][:160]})") from None
        return int(self.step.numpy())


    def restore_from(self, directory: Path) -> int | None:
        """Restore the newest checkpoint in another store's ``directory`` (a multi-worker worker reading the
        chief's); returns its step, or None when there is none."""
        latest = tf.train.latest_checkpoint(str(directory))
        if latest is None:
            return None
        self._checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.step.numpy())

    def write_snapshot(self, directory: Path, step: int, generator: keras.Model, info: dict[str, Any]) -> None:
        """A standalone copy of the current state in ``directory`` (``ckpt`` files, ``generator.keras`` and
        ``info`` as ``generator.json``), replacing the previous one only once complete. Used for the best
        checkpoint by FD."""
        self.step.assign(step)
        staging = directory.with_name(f".{directory.name}.staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self._checkpoint.write(str(staging / "ckpt"))
        generator.save(staging / "generator.keras")
        (staging / "generator.json").write_text(json.dumps(info, indent=2) + "\n")
        replace_directory(staging, directory)


def export_model(model: keras.Model, path: Path) -> None:
    """Save a model as ``.keras`` through a temporary file, so ``path`` is never half-written."""
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
