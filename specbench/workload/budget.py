"""How much memory a workload will take, checked before any of it is built.

A workload lives in memory whole (token ids of every prompt, the schedule, then one record per request), so
`--num-prompts 1e11` or `--input-len 1e8` would otherwise grow until the OOM killer ends the process. The
estimate is deliberately rough and generous: a refused run says what it needed against what the machine has.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from specbench.config import WorkloadConfig
from specbench.errors import ConfigError

# Measured with the echo engine (peak RSS against --input-len): ~46 bytes per synthetic prompt token, a
# Python int in a list plus numpy's draw; rounded up.
BYTES_PER_PROMPT_TOKEN = 64
# Every streamed token leaves a timestamp in its request's record.
BYTES_PER_OUTPUT_TOKEN = 32
# The planned request, its record and its line in the records file, outside the tokens.
BYTES_PER_REQUEST = 4096
# A dataset's output lengths are unknown until it is read; count them as if long.
DATASET_OUTPUT_LEN_GUESS = 1024
# A workload may take at most this share of the memory available now: the engine needs the rest.
SHARE_OF_AVAILABLE = 0.8
GIB = 1024**3


@dataclass(frozen=True, slots=True)
class WorkloadSize:
    requests: int
    bytes: int


def estimate(workload: WorkloadConfig) -> WorkloadSize:
    """Requests planned (warm-up included) and the bytes they take, from the settings alone."""
    count = workload.num_requests
    if count is None:  # rate mode: the expected arrivals in the window, as arrivals.py draws them
        count = _expected_arrivals(workload.rate, workload.duration)
    requests = count + workload.warmup
    # A dataset's prompts are tokenized once per entry and shared when cycled: their size is the file's.
    prompt_tokens = workload.input_len if workload.dataset == "random" else 0
    output_tokens = workload.output_len or DATASET_OUTPUT_LEN_GUESS
    per_request = (
        prompt_tokens * BYTES_PER_PROMPT_TOKEN + output_tokens * BYTES_PER_OUTPUT_TOKEN + BYTES_PER_REQUEST
    )
    return WorkloadSize(requests=requests, bytes=requests * per_request)


def check_fits(workload: WorkloadConfig, available: int | None = None) -> None:
    """Refuse, with the estimate, a workload that cannot fit in this machine's memory."""
    available = available_memory() if available is None else available
    if available is None:
        return
    size = estimate(workload)
    if size.bytes <= available * SHARE_OF_AVAILABLE:
        return
    raise ConfigError(
        f"this workload needs ~{_gib(size.bytes)} GiB of memory ({size.requests:,} requests"
        f"{_prompt_part(workload)}); this machine has {_gib(available)} GiB available: "
        "lower --num-prompts, --input-len, --output-len or --rate × --duration"
    )


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Bytes a new allocation can take now (MemAvailable); else all of RAM; None when unknown."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _expected_arrivals(rate: float, duration: float | None) -> int:
    if duration is None or not math.isfinite(rate * duration):
        return 0  # refused by the config (rate mode needs a finite rate and a finite duration)
    return math.ceil(rate * duration * 1.1) + 16


def _prompt_part(workload: WorkloadConfig) -> str:
    return f" × {workload.input_len:,} prompt tokens" if workload.dataset == "random" else ""


def _gib(size: float) -> str:
    value = size / GIB
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
