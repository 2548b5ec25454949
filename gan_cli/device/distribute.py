"""Training on several devices with TensorFlow's own engine (``train.distribute``).

``mirrored``: ``tf.distribute.MirroredStrategy`` over every local GPU, or, without GPUs, over the logical CPU
devices (``GAN_LOGICAL_CPUS=N`` splits the CPU into N, which is how the tests run it on one machine).
``multi_worker``: ``tf.distribute.MultiWorkerMirroredStrategy``, each worker started with its ``TF_CONFIG``.
``tpu``: ``tf.distribute.TPUStrategy`` on the TPU of this Cloud TPU VM, or on the TPU ``$TPU_NAME`` names (a
Cloud TPU's name or ``grpc://`` address); it needs a TensorFlow build with TPU support. TPUStrategy compiles
every step with XLA itself.
``train.batch_size`` is per replica; the global batch is ``batch_size x replicas``. Every replica gets its
own rows of each global batch, so the data order does not depend on the number of replicas.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import tensorflow as tf

from gan_cli.errors import RecipeError


def configure_logical_cpus() -> None:
    """Split the CPU into ``$GAN_LOGICAL_CPUS`` logical devices (once, before TensorFlow uses any device)."""
    count = int(os.environ.get("GAN_LOGICAL_CPUS", "0") or 0)
    if count < 2:
        return
    cpus = tf.config.list_physical_devices("CPU")
    with contextlib.suppress(RuntimeError):  # already initialised (a second run in one process): keep it
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)


def make_strategy(name: str) -> tf.distribute.Strategy | None:
    """The strategy ``train.distribute`` names; None for ``none``.

    Raises:
        RecipeError: ``multi_worker`` without ``TF_CONFIG``; ``tpu`` where no TPU can be found.
    """
    if name == "none":
        return None
    if name == "tpu":
        return _tpu_strategy()
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise RecipeError("train.distribute: multi_worker needs TF_CONFIG in each worker's environment "
                              "(see docs/distributed.md)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    configure_logical_cpus()
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)


def _tpu_strategy() -> tf.distribute.Strategy:
    """TPUStrategy over every core of the TPU ``$TPU_NAME`` names, else this TPU VM's own (``local``)."""
    target = os.environ.get("TPU_NAME") or "local"
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=target)
        if target != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as exc:
        reason = str(exc).strip().splitlines()[0].split(". Failed in initialization")[0][:160]
        raise RecipeError(f"train.distribute: tpu found no TPU ({reason}); run on a Cloud TPU VM with "
                          "TensorFlow's TPU build, set TPU_NAME to a TPU's name or grpc:// address, or choose "
                          "distribute: none, mirrored or multi_worker") from exc
    return tf.distribute.TPUStrategy(resolver)


def replicas(strategy: tf.distribute.Strategy | None) -> int:
    return strategy.num_replicas_in_sync if strategy is not None else 1


def is_chief(strategy: tf.distribute.Strategy | None) -> bool:
    """Whether this process writes the run directory: always, except on non-chief multi-worker workers."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    resolver = strategy.cluster_resolver
    return resolver.task_type in (None, "chief") or (resolver.task_type == "worker" and resolver.task_id == 0
                                                      and "chief" not in resolver.cluster_spec().as_dict())


def split(strategy: tf.distribute.Strategy, element: dict[str, Any], shared: tuple[str, ...] = ("penalty",)
          ) -> dict[str, Any]:
    """Per-replica values of one global step input: replica r gets rows [r·B, (r+1)·B) of every tensor (B the
    per-replica batch); the entries named in ``shared`` (seeds) go to every replica as they are."""
    count = strategy.num_replicas_in_sync

    def distribute(tensor: tf.Tensor) -> Any:
        size = int(tensor.shape[0]) // count

        def rows(context: tf.distribute.ValueContext) -> tf.Tensor:
            index = context.replica_id_in_sync_group
            return tensor[index * size:(index + 1) * size]

        return strategy.experimental_distribute_values_from_function(rows)

    return {key: value if key in shared else tf.nest.map_structure(distribute, value)
            for key, value in element.items()}
