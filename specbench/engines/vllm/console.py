"""Keep the tail of what vLLM prints while it starts, so a failed start can quote vLLM's own error.

vLLM's engine runs in child processes that report their errors only on the console they inherit. While
capturing, this process's stdout and stderr are pipes that a pump thread copies through to the real
console and into a short buffer; child processes started meanwhile keep writing through the pumps after
capturing stops.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import deque


class ConsoleTail:
    """Tee file descriptors 1 and 2 into a ring buffer of recent lines, from start() to stop()."""

    def __init__(self, max_lines: int = 400) -> None:
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._saved: dict[int, int] = {}

    def start(self) -> None:
        for fd in (1, 2):
            _flush_python_streams()
            try:
                saved = os.dup(fd)
            except OSError:
                continue  # no such stream (a daemon, say): nothing to show, nothing to capture
            read_end, write_end = os.pipe()
            os.dup2(write_end, fd)
            os.close(write_end)
            self._saved[fd] = saved
            threading.Thread(target=self._pump, args=(read_end, saved), daemon=True).start()

    def stop(self) -> None:
        """Give this process its console back; children keep writing through the pumps until they exit."""
        _flush_python_streams()
        for fd, saved in self._saved.items():
            os.dup2(saved, fd)
        self._saved.clear()

    def lines(self) -> list[str]:
        return list(self._lines)

    def _pump(self, read_end: int, target: int) -> None:
        pending = b""
        try:
            while chunk := os.read(read_end, 65536):
                _write_all(target, chunk)
                pending += chunk
                *complete, pending = pending.split(b"\n")
                self._lines.extend(line.decode(errors="replace").rstrip("\r") for line in complete)
        except OSError:
            pass  # the console went away; nothing left to copy
        finally:
            os.close(read_end)
            os.close(target)


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.flush()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
