"""Checkpoint manifests: a checkpoint counts only once its manifest is written, and a damaged file is named and
passed over for the newest intact checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from gan_cli.errors import RunDirError, TrainingDiverged
from gan_cli.runs.checkpoints import CheckpointStore, committed_checkpoints


def _model() -> keras.Model:
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


def _store(directory: Path, model: keras.Model, keep: int = 3) -> CheckpointStore:
    return CheckpointStore(directory, {"model": list(model.variables)}, np.zeros((1, 3), np.float32), keep=keep)


def _saved_at(directory: Path, *steps: int) -> keras.Model:
    """A store in ``directory`` with one checkpoint per step; the model's kernel is set to the step first."""
    model = _model()
    store = _store(directory, model)
    for step in steps:
        model.layers[-1].kernel.assign(np.full((3, 2), float(step), np.float32))
        store.save(step, {"rollbacks": step})
    return model


def test_every_checkpoint_has_a_manifest_with_the_sha256_of_its_files(tmp_path: Path) -> None:
    _saved_at(tmp_path, 1, 2)
    manifest = json.loads((tmp_path / "ckpt-2.manifest.json").read_text())
    assert manifest["step"] == 2 and manifest["loop"] == {"rollbacks": 2}
    assert sorted(manifest["sha256"]) == ["ckpt-2.data-00000-of-00001", "ckpt-2.index"]
    assert all(len(digest) == 64 for digest in manifest["sha256"].values())
    assert [step for step, _, _ in committed_checkpoints(tmp_path)] == [2, 1]


def test_a_checkpoint_without_its_manifest_is_never_the_latest(tmp_path: Path) -> None:
    _saved_at(tmp_path, 1, 2)
    (tmp_path / "ckpt-2.manifest.json").unlink()  # killed after the data files, before the manifest
    model = _model()
    store = _store(tmp_path, model)
    assert store.latest is not None and store.latest.endswith("ckpt-1")
    assert store.restore_latest() == (1, {"rollbacks": 1})
    np.testing.assert_array_equal(np.array(model.layers[-1].kernel), np.full((3, 2), 1.0))


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_a_damaged_checkpoint_is_named_and_the_previous_one_restored(tmp_path: Path, damage: str) -> None:
    _saved_at(tmp_path, 1, 2)
    data = tmp_path / "ckpt-2.data-00000-of-00001"
    if damage == "flip":
        raw = bytearray(data.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        data.write_bytes(bytes(raw))
    elif damage == "truncate":
        data.write_bytes(data.read_bytes()[:10])
    else:
        data.unlink()
    warnings: list[str] = []
    model = _model()
    assert _store(tmp_path, model).restore_latest(warn=warnings.append) == (1, {"rollbacks": 1})
    assert len(warnings) == 1 and "ckpt-2.data-00000-of-00001" in warnings[0] and "ckpt-1" in warnings[0]
    np.testing.assert_array_equal(np.array(model.layers[-1].kernel), np.full((3, 2), 1.0))


def test_when_every_checkpoint_is_damaged_the_error_names_the_file(tmp_path: Path) -> None:
    _saved_at(tmp_path, 1)
    (tmp_path / "ckpt-1.index").write_bytes(b"garbage")
    with pytest.raises(RunDirError, match=r"ckpt-1\.index is damaged.*no intact checkpoint"):
        _store(tmp_path, _model()).restore_latest()


def test_non_finite_weights_are_never_saved(tmp_path: Path) -> None:
    model = _saved_at(tmp_path, 1)
    store = _store(tmp_path, model)
    model.layers[-1].kernel.assign(np.full((3, 2), np.nan, np.float32))
    with pytest.raises(TrainingDiverged, match="NaN or infinity.*ckpt-1"):
        store.save(2)
    assert [step for step, _, _ in committed_checkpoints(tmp_path)] == [1]
    assert not list(tmp_path.glob("ckpt-2*"))


def test_a_failed_write_names_the_intact_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _saved_at(tmp_path, 1)
    store = _store(tmp_path, model)
    import gan_cli.runs.checkpoints as checkpoints

    def disk_full(prefix: Path, extra: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints, "write_manifest", disk_full)
    with pytest.raises(RunDirError, match=r"cannot write checkpoint ckpt-2 \(No space left on device\); the "
                                          r"previous checkpoint .*ckpt-1 is intact"):
        store.save(2)
    monkeypatch.undo()
    assert _store(tmp_path, _model()).restore_latest() == (1, {"rollbacks": 1})
