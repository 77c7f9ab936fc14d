"""What the runner sends: a fixed, precomputed list of requests with their due times."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, frozen=True)
class PlannedRequest:
    request_id: int
    scheduled_s: float  # seconds after the benchmark's start; warm-up requests have 0.0
    prompt_token_ids: list[int]
    max_tokens: int
    prompt_text: str | None = None
    category: str | None = None  # the dataset's category of this prompt (per-category figures)


@dataclass(slots=True)
class Workload:
    warmup: list[PlannedRequest]
    requests: list[PlannedRequest]
    # Stop sending once this much time has passed (rate mode, or --duration as a cap in count mode).
    send_window_s: float | None
    summary: dict[str, Any] = field(default_factory=dict)
