"""The engine's own output goes to a log file beside the result; specbench's display stays the only one.

Engines print from this process (Transformers' progress bars, vLLM's front-end logger) and from processes
they start (vLLM's engine core and workers, which inherit stdout and stderr). So file descriptors 1 and 2
themselves are pointed at the log for the engine's whole life, and specbench's console writes to copies of
the original descriptors. The log is read back for the phase shown while the engine starts, and for its
last lines when the start fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from pathlib import Path
from typing import IO

# What an engine is doing while it starts, from lines it logs: (pattern, phase shown to the user).
_PHASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), phase)
    for pattern, phase in (
        (r"loading (model )?weights|loading checkpoint|load_model|loading safetensors", "loading weights"),
        (r"torch\.compile|compiling a graph|dynamo bytecode|inductor", "compiling"),
        (r"capturing cuda ?graph|graph capturing", "capturing CUDA graphs"),
        (r"kv cache|num_gpu_blocks|available kv|memory profiling", "sizing the KV cache"),
        (r"warming up|warmup", "warming up"),
    )
)
_TAIL_BYTES = 64 * 1024


class EngineLog:
    """Redirects descriptors 1 and 2 into `path` between start() and stop()."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved: dict[int, int] = {}
        self._read_offset = 0
        self.phase: str | None = None
        self._made: list[Path] = []  # directories start() created, deepest first

    @property
    def capturing(self) -> bool:
        return bool(self._saved)

    def start(self) -> None:
        _flush_python_streams()
        self._made = [d for d in (self.path.parent, *self.path.parent.parents) if not d.exists()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        log_fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            for fd in (1, 2):
                with contextlib.suppress(OSError):  # no such stream (a daemon): nothing to redirect
                    self._saved[fd] = os.dup(fd)
                    os.dup2(log_fd, fd)
        finally:
            os.close(log_fd)

    def stop(self) -> None:
        _flush_python_streams()
        for fd, saved in self._saved.items():
            os.dup2(saved, fd)
            os.close(saved)
        self._saved.clear()

    def original_stream(self, fd: int) -> IO[str] | None:
        """A text stream on the terminal (or file) that descriptor `fd` pointed at before start()."""
        saved = self._saved.get(fd)
        if saved is None:
            return None
        return open(os.dup(saved), "w", encoding="utf-8", errors="replace", closefd=True)

    def poll_phase(self) -> str | None:
        """Read what was logged since the last call; return the latest start-up phase seen."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._read_offset)
                chunk = handle.read()
        except OSError:
            return self.phase
        self._read_offset += len(chunk)
        for line in chunk.decode(errors="replace").splitlines():
            for pattern, phase in _PHASES:
                if pattern.search(line):
                    self.phase = phase
        return self.phase

    def tail(self, lines: int = 15) -> list[str]:
        """The last lines of the log (the engine's own words when it fails to start)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(max(0, self.path.stat().st_size - _TAIL_BYTES))
                text = handle.read().decode(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()][-lines:]

    def discard_if_empty(self) -> bool:
        """Remove the log when the engine printed nothing, and the directories made for it if they are left
        empty (a run that failed to start leaves no empty results/); True if the log was removed."""
        with contextlib.suppress(OSError):
            if self.path.stat().st_size == 0:
                self.path.unlink()
        if self.path.exists():
            return False
        for directory in self._made:
            with contextlib.suppress(OSError):  # not empty: something else was written there
                directory.rmdir()
        return True


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.flush()
