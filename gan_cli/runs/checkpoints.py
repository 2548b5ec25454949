"""Training checkpoints: models, optimizers, counters, RNG state and the loop's own state, saved atomically
and verified when loaded.

Keras 3 models are not tracked as objects by ``tf.train.Checkpoint``, so the family hands over
explicit variable lists (weights, BatchNorm statistics, dropout SeedGenerator states, optimizer
slots and iteration counters). ``tf.train.CheckpointManager`` writes the data files; then a manifest
``ckpt-N.manifest.json`` is written atomically with the sha256 of each of them and the training loop's
state at that step (health monitor, best FD, learning-rate scale), and the resolved recipe the checkpoint was
trained with (``recipe``, and ``recipe_sha256``: the sha256 of ``recipe.yaml`` as gan wrote it), so a resume can
tell a hand-edited ``recipe.yaml`` from the recipe behind the weights. The manifest is the commit mark: a
checkpoint without one (the process died while saving) is never taken as the latest, and one whose files
no longer match their sha256 is named as damaged and passed over for the newest intact one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gan_cli.errors import RunDirError, TrainingDiverged
from gan_cli.files import replace_directory, write_atomic
from gan_cli.recipe.schema import Recipe, dump_recipe, recipe_to_dict
from gan_cli.runs.run_dir import (  # plain JSON, readable without TensorFlow
    MANIFEST_SUFFIX,
    RunDir,
    committed_checkpoints,
)


class CheckpointStore:
    """Save and restore one run's training state.

    Args:
        directory: the run's ``checkpoints/`` folder.
        state: named lists of variables to save (from the family's ``checkpoint_state()``).
        fixed_latents: the latent batch behind every sample grid; saved with the state.
        keep: how many checkpoints to keep.
    """

    #: the resolved recipe being trained, recorded in every manifest from then on (``epoch_loop.begin`` sets it;
    #: None records none, as gan did before recipes were recorded)
    recipe: Recipe | None = None

    def __init__(self, directory: Path, state: Mapping[str, list[Any]], fixed_latents: np.ndarray,
                 keep: int) -> None:
        self.directory = directory
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.fixed_latents = tf.Variable(fixed_latents, trainable=False, name="fixed_latents")
        self._state = state
        self._checkpoint = tf.train.Checkpoint(step=self.step, fixed_latents=self.fixed_latents, **state)
        self._manager = tf.train.CheckpointManager(self._checkpoint, str(directory), max_to_keep=keep,
                                                   checkpoint_name="ckpt")

    @property
    def latest(self) -> str | None:
        """Path prefix of the newest complete checkpoint (one with a manifest), if any."""
        complete = committed_checkpoints(self.directory)
        if complete:
            return str(complete[0][1])
        return None if _any_manifest(self.directory) else self._manager.latest_checkpoint

    def non_finite(self) -> str | None:
        """The name of the first saved variable holding NaN or infinity, or None when all are finite."""
        for group, variables in self._state.items():
            for variable in variables:
                value = np.asarray(keras.ops.convert_to_numpy(variable.value if isinstance(variable, keras.Variable)
                                                              else variable))
                if value.dtype.kind == "f" and not np.isfinite(value).all():
                    return f"{group}/{getattr(variable, 'path', None) or variable.name}"
        return None

    def save(self, step: int, loop_state: Mapping[str, Any] | None = None) -> str:
        """Write a checkpoint of the state after ``step`` steps, with ``loop_state`` (JSON-able) in its
        manifest; returns its path prefix. A checkpoint already committed at ``step`` is kept as it is.

        Raises:
            TrainingDiverged: a variable holds NaN or infinity (nothing is written).
            RunDirError: the files cannot be written (disk full, permissions); the previous checkpoint is intact.
        """
        committed = committed_checkpoints(self.directory)
        if committed and committed[0][0] == step:
            return str(committed[0][1])
        bad = self.non_finite()
        if bad is not None:
            raise TrainingDiverged(f"{bad} holds NaN or infinity at step {step}; not saved, so the last good "
                                   f"checkpoint {self.latest or '(none)'} stays the latest")
        self.step.assign(step)
        try:
            prefix = Path(self._manager.save(checkpoint_number=step))
            write_manifest(prefix, {"step": step, **recipe_record(self.recipe), "loop": dict(loop_state or {})})
        except (OSError, tf.errors.OpError, RunDirError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "message", None) or str(exc)
            kept = f"the previous checkpoint {committed[0][1]} is intact" if committed else "no earlier checkpoint"
            raise RunDirError(f"{self.directory}: cannot write checkpoint ckpt-{step} "
                              f"({str(reason).splitlines()[0][:160]}); {kept}; free disk space or fix the "
                              "folder's permissions, then continue with gan train RUN --resume") from None
        for stale in self.directory.glob(f"ckpt-*{MANIFEST_SUFFIX}"):  # the manager removed their data
            if not Path(str(stale)[: -len(MANIFEST_SUFFIX)] + ".index").exists():
                stale.unlink(missing_ok=True)
        return str(prefix)

    def restore_latest(self, warn: Callable[[str], None] = print) -> tuple[int, dict[str, Any]] | None:
        """Restore the newest intact checkpoint; returns its step and loop state, or None when there is none.

        A damaged checkpoint (a file missing or not matching its manifest's sha256) is named through ``warn``
        and the next older intact one is restored instead.

        Raises:
            RunDirError: every checkpoint is damaged, or they do not match the models the recipe builds.
        """
        committed = committed_checkpoints(self.directory)
        if not committed:
            legacy = None if _any_manifest(self.directory) else self._manager.latest_checkpoint
            return None if legacy is None else (self._restore(legacy), {})
        damaged: list[str] = []
        for step, prefix, manifest in committed:
            problem = verify_checkpoint(prefix, manifest)
            if problem is not None:
                damaged.append(problem)
                continue
            if damaged:
                warn(f"warning: {damaged[0]}; resuming from the newest intact checkpoint {prefix.name} (step {step})")
            self._restore(str(prefix))
            return step, dict(manifest.get("loop", {}))
        raise RunDirError(f"{damaged[0]}; no intact checkpoint left in {self.directory}; start a new run "
                          "(or restore the file from a backup)")

    def _restore(self, prefix: str) -> int:
        status = None
        try:
            status = self._checkpoint.restore(prefix)
            status.assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as exc:
            if status is not None:
                status.expect_partial()  # no "unrestored values" warnings when it is collected
            raise RunDirError(f"{prefix}: the checkpoint's weights do not fit the networks this recipe builds (a "
                              "changed network shape cannot be resumed; start a new run with another --out) "
                              f"({str(exc).splitlines()[0][:160]})") from None
        return int(self.step.numpy())

    def restore_from(self, directory: Path) -> int | None:
        """Restore the newest committed checkpoint in another store's ``directory`` (a multi-worker worker
        reading the chief's); returns its step, or None when there is none."""
        committed = committed_checkpoints(directory)
        latest = str(committed[0][1]) if committed else tf.train.latest_checkpoint(str(directory))
        if latest is None:
            return None
        self._checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.step.numpy())

    def write_snapshot(self, directory: Path, step: int, generator: keras.Model, info: dict[str, Any]) -> None:
        """A standalone copy of the current state in ``directory`` (``ckpt`` files with their manifest,
        ``generator`` saved as ``generator.keras`` and ``info`` as ``generator.json``), replacing the previous one
        only once complete. Used for the best checkpoint by FD (with a portable generator)."""
        self.step.assign(step)
        staging = directory.with_name(f".{directory.name}.staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self._checkpoint.write(str(staging / "ckpt"))
        write_manifest(staging / "ckpt", {"step": step, **recipe_record(self.recipe)})
        snapshot = RunDir(staging)
        generator.save(snapshot.generator)
        snapshot.generator_info.write_text(json.dumps(info, indent=2) + "\n")
        replace_directory(staging, directory)


def write_manifest(prefix: Path, extra: Mapping[str, Any]) -> None:
    """Write ``PREFIX.manifest.json``: ``extra`` and the sha256 of every ``PREFIX.*`` file, atomically."""
    files = {path.name: file_sha256(path) for path in sorted(prefix.parent.glob(f"{prefix.name}.*"))
             if not path.name.endswith(MANIFEST_SUFFIX)}
    write_atomic(Path(f"{prefix}{MANIFEST_SUFFIX}"), json.dumps({**extra, "sha256": files}, indent=1) + "\n")


def recipe_record(recipe: Recipe | None) -> dict[str, Any]:
    """A manifest's record of the recipe a checkpoint was trained with: ``recipe`` (the resolved recipe as plain
    data, which ``recipe.parse_recipe`` reads back) and ``recipe_sha256`` (the sha256 of ``dump_recipe``'s text,
    i.e. of ``RUN/recipe.yaml`` as gan writes it); ``{}`` for None."""
    if recipe is None:
        return {}
    text = dump_recipe(recipe)
    return {"recipe": recipe_to_dict(recipe), "recipe_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def verify_checkpoint(prefix: Path, manifest: Mapping[str, Any]) -> str | None:
    """None when every file the manifest lists exists with its sha256; else what is wrong, naming the file."""
    for name, digest in manifest["sha256"].items():
        path = prefix.parent / name
        if not path.is_file():
            return f"{path} is missing (listed in {prefix.name}{MANIFEST_SUFFIX})"
        if file_sha256(path) != digest:
            return f"{path} is damaged (its sha256 differs from {prefix.name}{MANIFEST_SUFFIX})"
    return None


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _any_manifest(directory: Path) -> bool:
    return any(directory.glob(f"ckpt-*{MANIFEST_SUFFIX}"))

