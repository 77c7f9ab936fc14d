"""Per-request records: what was measured for each request, on one clock.

All times are seconds on time.perf_counter() relative to the benchmark's start (t=0 is the start of
the measured run, after warm-up; the first request is due one arrival gap later, at 0 with rate inf).
Which clock each latency starts from (docs/HOW_SPECBENCH_MEASURES.md):

- scheduled_s: when the schedule said to send it.
- ready_s: sent_s minus the time the request waited for a --max-concurrency slot; ready_s -
  scheduled_s is dispatch lag, the harness's own lateness (timer, busy loop, task start).
- sent_s: when the engine's generate() started on it; sent_s - ready_s is client queueing under
  --max-concurrency (waiting for a free slot), exactly 0 without it.
- TTFT, ITL and E2EL start from sent_s, as in vLLM's `vllm bench serve`: queueing inside the
  engine (e.g. the serial Transformers server) is part of them, client queueing is not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any


@dataclass(slots=True)
class RequestRecord:
    request_id: int
    scheduled_s: float
    ready_s: float
    sent_s: float
    prompt_tokens: int
    expected_output_tokens: int
    # Times at which output tokens became visible, and how many arrived at each (speculative
    # decoding and batched streaming can deliver several at once).
    chunk_times_s: list[float] = field(default_factory=list)
    chunk_tokens: list[int] = field(default_factory=list)
    end_s: float | None = None
    output_tokens: int = 0
    drafted_tokens: int | None = None
    accepted_tokens: int | None = None
    target_forward_passes: int | None = None
    finish_reason: str | None = None
    error: str | None = None
    category: str | None = None  # the dataset's category of the prompt
    drafts: int | None = None  # verification steps with a draft (speculative decoding)
    output_token_ids: list[int] | None = None  # kept unless --no-save-output-ids
    # Conversations: the session (its first turn's request id) and the turn number, from 1.
    session_id: int | None = None
    turn: int | None = None
    cached_prompt_tokens: int | None = None  # found in the engine's prefix cache, where it says
    # Reasoning models: when the first answer token arrived (chunk_times_s[0] is the first of any kind).
    first_answer_s: float | None = None
    reasoning_tokens: int | None = None

    @property
    def success(self) -> bool:
        return self.error is None and self.end_s is not None

    @property
    def ttft_ms(self) -> float | None:
        return (self.chunk_times_s[0] - self.sent_s) * 1000 if self.chunk_times_s else None

    @property
    def e2el_ms(self) -> float | None:
        return (self.end_s - self.sent_s) * 1000 if self.end_s is not None else None

    @property
    def itl_ms(self) -> list[float]:
        """Every gap between consecutive token arrivals (vLLM's ITL)."""
        return [(b - a) * 1000 for a, b in pairwise(self.chunk_times_s)]

    @property
    def itl_per_token_ms(self) -> list[float]:
        """One value per output token after the first: a chunk's gap shared equally by the tokens it
        brought (0 for tokens that came with the first one), so a 3-token chunk after 30 ms counts as three
        10 ms tokens, where vLLM's ITL counts one 30 ms gap. Their mean over a request is its TPOT."""
        if not self.chunk_times_s:
            return []
        per_token = [0.0] * (self.chunk_tokens[0] - 1) if self.chunk_tokens else []
        for gap, tokens in zip(self.itl_ms, self.chunk_tokens[1:], strict=False):
            per_token += [gap / tokens] * tokens if tokens > 0 else []
        return per_token

    @property
    def tpot_ms(self) -> float | None:
        """(E2EL - TTFT) / (output tokens - 1); undefined for a single output token."""
        ttft, e2el = self.ttft_ms, self.e2el_ms
        if ttft is None or e2el is None or self.output_tokens < 2:
            return None
        return (e2el - ttft) / (self.output_tokens - 1)

    @property
    def ttfat_ms(self) -> float | None:
        """Time to the first answer token (after any reasoning); None where the engine does not tell."""
        return (self.first_answer_s - self.sent_s) * 1000 if self.first_answer_s is not None else None

    @property
    def dispatch_lag_ms(self) -> float:
        return (self.ready_s - self.scheduled_s) * 1000

    @property
    def client_queue_ms(self) -> float:
        return (self.sent_s - self.ready_s) * 1000

    def to_json_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row.update(
            ttft_ms=self.ttft_ms,
            ttfat_ms=self.ttfat_ms,
            tpot_ms=self.tpot_ms,
            e2el_ms=self.e2el_ms,
            dispatch_lag_ms=self.dispatch_lag_ms,
            client_queue_ms=self.client_queue_ms,
        )
        return row

    @classmethod
    def from_json_dict(cls, row: dict[str, Any]) -> RequestRecord:
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in row.items() if k in names})
