"""Checkpoints survive a crash while saving: the previous good one is what a resume finds."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_cli.errors import RunDirError
from gan_cli.runs.checkpoints import CheckpointStore
from gan_cli.runs.export import save_portable


def tiny_model() -> keras.Model:
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dropout(0.5)(keras.layers.Dense(2)(inputs)))


def test_restore_brings_back_weights_rng_state_step_and_latents(tmp_path: Path) -> None:
    model = tiny_model()
    latents = np.arange(6, dtype=np.float32).reshape(2, 3)
    store = CheckpointStore(tmp_path, {"model": list(model.variables)}, latents, keep=2)
    store.save(5)
    saved = [np.array(v) for v in model.variables]
    assert any("seed_generator" in v.path for v in model.variables)  # dropout RNG state is included

    other = tiny_model()
    fresh = CheckpointStore(tmp_path, {"model": list(other.variables)}, np.zeros((2, 3), np.float32), keep=2)
    assert fresh.restore_latest() == (5, {})
    for a, b in zip(saved, other.variables):
        np.testing.assert_array_equal(a, np.array(b))
    np.testing.assert_array_equal(fresh.fixed_latents.numpy(), latents)


def test_a_save_killed_midway_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    model = tiny_model()
    store = CheckpointStore(tmp_path, {"model": list(model.variables)}, np.zeros((1, 3), np.float32), keep=3)
    store.save(10)
    # what a kill -9 during the next save leaves behind: data written, index never updated
    (tmp_path / "ckpt-20.data-00000-of-00001").write_bytes(b"\x00" * 17)
    (tmp_path / "ckpt-20.index").write_bytes(b"trunc")
    fresh = CheckpointStore(tmp_path, {"model": list(tiny_model().variables)}, np.zeros((1, 3), np.float32), keep=3)
    assert fresh.restore_latest() == (10, {})


def test_restore_into_different_models_is_a_clear_error(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, {"model": list(tiny_model().variables)}, np.zeros((1, 3), np.float32), keep=1)
    store.save(1)
    inputs = keras.Input((4,))
    other = keras.Model(inputs, keras.layers.Dense(7)(inputs))
    with pytest.raises(RunDirError, match="weights do not fit the networks"):
        CheckpointStore(tmp_path, {"model": list(other.variables)}, np.zeros((1, 3), np.float32),
                        keep=1).restore_latest()


def test_exporting_a_generator_never_leaves_a_torn_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "generator.keras"
    model = tiny_model()
    save_portable(model, target)
    good = target.read_bytes()

    def crash(self: keras.Model, path: str, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_portable(model, target)
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generator.keras"]
    assert tf.io.gfile.exists(str(target))
