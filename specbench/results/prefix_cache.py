"""A result whose prompts the engine's prefix cache served, though its workload never meant them to repeat.

Its TTFT and throughput then leave out the prefill of the cached tokens: 64 × 256 prompt tokens served from
the cache made a point 1.28× faster than the engine is (issue 24). Points of one session draw distinct
prompts and vLLM's cache is emptied between them, so a hit here comes from elsewhere: a dataset smaller than
the requests sent, prompts that share a beginning, or an earlier run against the same server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def prefix_cache_warning(metrics: Mapping[str, Any], workload: Mapping[str, Any]) -> str | None:
    """One line when the prefix cache served prompt tokens of a workload without shared prefixes."""
    if workload.get("shared_prefixes"):
        return None  # hits are what such a workload measures
    hits, queries = metrics.get("prefix_cache_hits"), metrics.get("prefix_cache_queries")
    if not _count(hits) or not _count(queries):
        return None
    rate = hits / queries
    return (
        f"the prefix cache served {hits:,.0f} of {queries:,.0f} prompt tokens (hit rate {rate:.1%}) "
        "though this workload has no shared prefixes: prompts were sent again (a dataset smaller than the "
        "requests, prompts with a common beginning, or an earlier run against the same server), so TTFT and "
        "throughput leave out their prefill"
    )


def _count(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
