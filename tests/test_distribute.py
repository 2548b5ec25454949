"""train.distribute: MirroredStrategy over two logical CPUs gives the single-device result for the same
global batch, two workers write one run directory, a TPU that is not there is one clear error, and what
cannot be distributed yet is refused in the recipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from gan_cli.errors import RecipeError
from gan_cli.recipe.loading import parse_recipe

REPO = Path(__file__).resolve().parents[1]


def train(out: Path, *sets: str, cpus: int = 1) -> str:
    env = {**os.environ, "GAN_LOGICAL_CPUS": str(cpus)}
    args = [sys.executable, "-m", "gan_cli", "train", str(REPO / "recipes" / "digits_gan.yaml"), "--out", str(out),
            "--no-progress", "--set", "train.steps=30", "--set", "discriminator.dropout=0",
            "--set", "train.precision=float32"]
    for value in sets:
        args += ["--set", value]
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def checkpoint(run: Path) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(str(run / "checkpoints"))
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()
            if not n.startswith(("_CHECKPOINTABLE", "save_counter"))}


def test_mirrored_on_two_cpus_matches_one_device_at_the_same_global_batch(tmp_path: Path) -> None:
    output = train(tmp_path / "mirrored", "train.distribute=mirrored", "train.batch_size=32", cpus=2)
    assert "done: 30 steps" in output
    train(tmp_path / "single", "train.batch_size=64")
    a, b = checkpoint(tmp_path / "mirrored"), checkpoint(tmp_path / "single")
    assert a.keys() == b.keys()
    # not bit for bit: each replica averages its half of the batch and the all-reduce adds the halves, a different
    # order of float32 additions than one device's mean over the whole batch; 30 Adam steps carry that rounding
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-6, err_msg=key)
    assert (tmp_path / "mirrored" / "generator.keras").is_file()


def test_lazy_r1_under_mirrored_matches_one_device(tmp_path: Path) -> None:
    """The R1 penalty's double backprop runs inside each replica, every third D update (two per step)."""
    lazy = ("loss.r1=1", "loss.r1_every=3", "train.d_steps=2", "train.steps=12")
    output = train(tmp_path / "mirrored", "train.distribute=mirrored", "train.batch_size=32", *lazy, cpus=2)
    assert "done: 12 steps" in output
    train(tmp_path / "single", "train.batch_size=64", *lazy)
    a, b = checkpoint(tmp_path / "mirrored"), checkpoint(tmp_path / "single")
    assert a.keys() == b.keys()
    for key in a:  # as above: the same updates up to the order of float32 additions
        np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("strategy", ["mirrored", "multi_worker", "tpu"])
@pytest.mark.parametrize("data, key", [
    ({"discriminator": {"clip_value": 0.01}}, "train.distribute"),
    ({"family": "pix2pix", "data": {"source": "digits", "task": "edges"}, "generator": {"architecture": "unet"},
      "discriminator": {"architecture": "patchgan"}}, "train.distribute"),
])
def test_what_cannot_be_distributed_yet_is_refused(data: dict, key: str, strategy: str) -> None:
    with pytest.raises(RecipeError, match=key.replace(".", r"\.")):
        parse_recipe({**data, "train": {"distribute": strategy}})


def test_tpu_where_there_is_none_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """Without a TPU (this machine, CI), ``distribute: tpu`` says so and how to fix it, before any file."""
    run = tmp_path / "run"
    env = {key: value for key, value in os.environ.items() if key != "TPU_NAME"}
    result = subprocess.run([sys.executable, "-m", "gan_cli", "train", str(REPO / "recipes" / "digits_gan.yaml"),
                             "--out", str(run), "--set", "train.distribute=tpu"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "train.distribute: tpu found no TPU" in errors[0] and "TPU_NAME" in errors[0]
    assert "Traceback" not in result.stderr and not run.exists()


def test_multi_worker_needs_tf_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gan_cli.device.distribute import make_strategy

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(RecipeError, match="TF_CONFIG"):
        make_strategy("multi_worker")


def _free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _workers(run: Path, *args: str) -> list[subprocess.CompletedProcess[str]]:
    import json

    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "gan_cli", "train", *args, "--out", str(run), "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def test_two_workers_on_localhost_write_one_run_directory_and_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    recipe = str(REPO / "recipes" / "digits_gan.yaml")
    sets = ["--set", "train.distribute=multi_worker", "--set", "train.batch_size=32",
            "--set", "train.precision=float32", "--set", "checkpoints.every_epochs=1"]
    chief, worker = _workers(run, recipe, *sets, "--set", "train.steps=21")
    assert chief.returncode == 0 and worker.returncode == 0, chief.stderr[-2000:] + worker.stderr[-2000:]
    assert "done: 21 steps" in chief.stdout and "done:" not in worker.stdout  # only the chief reports
    assert sorted(p.name for p in (run / "checkpoints").iterdir() if p.name.startswith("ckpt-21"))
    chief, worker = _workers(run, str(run), "--resume", "--set", "train.steps=30")
    assert chief.returncode == 0 and worker.returncode == 0, chief.stderr[-2000:] + worker.stderr[-2000:]
    assert "resuming" in chief.stdout and "done: 30 steps" in chief.stdout
    rows = (run / "metrics.csv").read_text().splitlines()
    assert [row.split(",")[1] for row in rows[1:]] == ["21", "30"]
    assert (run / "generator.keras").is_file() and (run / "summary.json").is_file()
