"""Find the processes an engine start created, and make sure none outlives the engine.

psutil comes with vLLM, so it is imported only once vLLM is known to be there.
"""

from __future__ import annotations

import contextlib
from typing import Any

# Python's own helper processes are shared by everything in this interpreter and end with it.
_SHARED_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def _descendants() -> dict[int, Any]:
    import psutil

    return {proc.pid: proc for proc in psutil.Process().children(recursive=True)}


def _is_shared_helper(proc: Any) -> bool:
    import psutil

    try:
        command = " ".join(proc.cmdline())
    except psutil.Error:
        return False
    return any(helper in command for helper in _SHARED_HELPERS)


class EngineProcesses:
    """The descendants that appeared while the engine started: its engine core and workers."""

    def __init__(self, grace_s: float = 10.0) -> None:
        self._grace_s = grace_s
        self._before: set[int] | None = None
        self._owned: list[Any] | None = None

    def before_start(self) -> None:
        self._before = set(_descendants())

    def after_start(self) -> None:
        before = self._before or set()
        self._owned = [
            proc for pid, proc in _descendants().items() if pid not in before and not _is_shared_helper(proc)
        ]

    def kill_started(self) -> None:
        """Kill at once every process that appeared since before_start (an abandoned start)."""
        import psutil

        before = self._before or set()
        for pid, proc in _descendants().items():
            if pid not in before and not _is_shared_helper(proc):
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()

    def stop(self) -> None:
        """Wait for the engine's processes to exit after vLLM's own shutdown; kill any that hang on."""
        if self._before is None:
            return
        if self._owned is None:
            # A failed start never reached after_start: whatever appeared since is still ours.
            self.after_start()
        import psutil

        owned = self._owned or []
        _, alive = psutil.wait_procs(owned, timeout=self._grace_s)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(alive, timeout=self._grace_s)
        self._before = self._owned = None
