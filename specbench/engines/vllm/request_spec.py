"""Each request's own speculative-decoding counts from vLLM: exact, not inferred from the stream.

The tokens a streamed output brings are not 1 + accepted per step: vLLM's front end merges the deltas a slow
reader has not taken yet (RequestOutputCollector), and a step without a draft brings one token too. vLLM
(0.32 on) counts per request instead, when its engine argument `per_request_spec_decode_metrics` is
"summary": the scheduler observes every verification step of the request under the same condition, and with
the same grammar adjustment, as the `vllm:spec_decode_*` counters (Scheduler.update_from_output), and the
finished output carries the totals (CompletionOutput.spec_decode_metrics). So the per-request sums equal the
counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ENGINE_ARG = "per_request_spec_decode_metrics"


@dataclass(frozen=True, slots=True)
class RequestSpecCounts:
    drafts: int  # verification steps that had a draft
    draft_tokens: int
    accepted_tokens: int


def per_request_kwargs(engine_kwargs: dict[str, Any], engine_args_class: Any) -> dict[str, Any]:
    """The engine arguments plus per-request counting where vLLM speculates and this vLLM can count."""
    fields = getattr(engine_args_class, "__dataclass_fields__", {})
    if engine_kwargs.get("speculative_config") is None or ENGINE_ARG not in fields:
        return engine_kwargs
    return {**engine_kwargs, ENGINE_ARG: "summary"}


def request_spec_counts(completion_output: Any) -> RequestSpecCounts | None:
    """From a finished CompletionOutput; None where vLLM did not count (no speculation, older vLLM)."""
    metrics = getattr(completion_output, "spec_decode_metrics", None)
    if metrics is None:
        return None
    histogram = list(metrics.histogram)  # steps that accepted exactly j draft tokens, j = 0…K
    return RequestSpecCounts(
        drafts=sum(histogram),
        draft_tokens=int(metrics.num_draft_tokens),
        accepted_tokens=sum(j * n for j, n in enumerate(histogram)),
    )
