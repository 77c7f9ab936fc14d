"""NVML through nvidia-ml-py (`import pynvml`), imported only when GPUs are watched: specbench runs
without it.

A counter a GPU does not have raises NVMLError_NotSupported (or FunctionNotFound on an older driver, or
AttributeError with an older nvidia-ml-py); `Nvml.is_unsupported` tells those apart from real failures.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from specbench.errors import SpecbenchError

INSTALL_HINT = 'pip install "specbench[gpu]"'


class TelemetryUnavailable(SpecbenchError):
    """No GPU can be watched here; the message says why (and, where it helps, what to install)."""

    exit_code = 1


class Nvml:
    """An initialised NVML. Close it once; NVML counts its own initialisations, so several may be open."""

    def __init__(self, lib: ModuleType) -> None:
        self.lib = lib
        self._open = True

    @classmethod
    def open(cls) -> Nvml:
        try:
            lib = importlib.import_module("pynvml")
        except ImportError:
            raise TelemetryUnavailable(f"nvidia-ml-py is not installed ({INSTALL_HINT})") from None
        try:
            lib.nvmlInit()
        except lib.NVMLError as exc:
            raise TelemetryUnavailable(
                f"NVML could not start ({exc}): is an NVIDIA driver installed and loaded?"
            ) from None
        return cls(lib)

    def close(self) -> None:
        if self._open:
            self._open = False
            # Nothing is left to release that a failed shutdown would keep.
            with contextlib.suppress(self.lib.NVMLError):
                self.lib.nvmlShutdown()

    def is_unsupported(self, exc: BaseException) -> bool:
        """The GPU, its driver or this nvidia-ml-py lacks the counter: not an error, just not there."""
        lib = self.lib
        missing = tuple(
            cls
            for cls in (
                getattr(lib, "NVMLError_NotSupported", None),
                getattr(lib, "NVMLError_FunctionNotFound", None),
            )
            if cls is not None
        )
        return isinstance(exc, (AttributeError, *missing))

    def optional(self, function: str, *args: Any) -> Any:
        """`lib.<function>(*args)`, or None where it is not supported."""
        try:
            return getattr(self.lib, function)(*args)
        except Exception as exc:
            if self.is_unsupported(exc):
                return None
            raise

    def driver_version(self) -> str | None:
        try:
            return text(self.lib.nvmlSystemGetDriverVersion())
        except self.lib.NVMLError:
            return None


def text(value: str | bytes) -> str:
    """nvidia-ml-py returns str, older releases bytes."""
    return value.decode() if isinstance(value, bytes) else value


@contextmanager
def nvml_session() -> Iterator[Nvml]:
    nvml = Nvml.open()
    try:
        yield nvml
    finally:
        nvml.close()
