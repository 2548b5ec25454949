"""Measurements of the device in use, made once and kept (``cache_root()/devices.json``).

``train.precision: auto`` and ``train.jit_compile: auto`` decide by timing this device, not by a table of
known hardware. Each timing takes seconds, so it is made the first time it is needed and cached under the
device's name (GPU name or CPU model, with the TensorFlow version) and the measurement's kind; a new GPU or
a new TensorFlow measures again. Deleting the file (or ``gan`` 's cache) forgets every measurement.
"""

from __future__ import annotations

import contextlib
import json
import platform
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from gan_cli.files import cache_root, read_json_object, write_atomic

CACHE_FILE = "devices.json"


def device_name() -> str:
    """The GPU's name when TensorFlow sees one, else the CPU's model name, with the TensorFlow version."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        name = f"GPU {details.get('device_name', gpus[0].name)}"
    else:
        name = f"CPU {_cpu_model()}"
    return f"{name}, tensorflow {tf.__version__}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measured(kind: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """This device's measurement ``kind``: the cached one, else ``measure()``'s result, which is cached.

    An unreadable or damaged cache is measured over; an unwritable one only costs the measurement next time.
    """
    path = cache_root() / CACHE_FILE
    device = device_name()
    entry = read_json_object(path).get(device)
    if isinstance(entry, dict) and isinstance(entry.get(kind), dict):
        return dict(entry[kind])
    result = measure()
    known = read_json_object(path)  # re-read: another process may have cached something meanwhile
    entry = known.get(device)
    known[device] = {**(entry if isinstance(entry, dict) else {}), kind: result}
    with contextlib.suppress(OSError):
        write_atomic(path, json.dumps(known, indent=2) + "\n")
    return result
