"""Can each request's output-token count be trusted? Where the counts came from, and two checks that every
run makes on its own records.

Output tokens divide almost every figure (throughput, TPOT), so a wrong count is a wrong result. Engines in
this process count the tokens they produce; a server's client counts what the server reports (`usage`)
and only where it reports nothing re-tokenizes the streamed text, which is not exact (byte-level tokens
split across chunks do not round-trip). Two checks catch wrong counts whatever their source:

- a request that ended at its length limit (`finish_reason` "length") generated exactly its max_tokens;
- the tokens counted chunk by chunk add up to the request's total (the server's usage where it gives one,
  which is what the total is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from specbench.records import RequestRecord

# The engine setting (EngineInfo.settings) that says where each request's total came from, where that is
# not the engine's own count of the tokens it produced: the server's usage, or a tokenizer's re-count.
TOKEN_TOTALS = "token_totals"
SERVER_USAGE = "server usage"
TOKENIZER = "tokenizer"


@dataclass(frozen=True, slots=True)
class TokenCountCheck:
    """What the two checks found over a run's successful requests."""

    checked: int = 0  # successful requests
    at_length: int = 0  # of those, ended by their length limit
    wrong_at_length: int = 0  # of those, with a count other than their max_tokens
    example: tuple[int, int] | None = None  # (counted, max_tokens) of the first wrong one
    chunks_disagree: int = 0  # successful requests whose per-chunk counts do not add up to their total

    def as_dict(self) -> dict[str, int]:
        return {
            "requests_checked": self.checked,
            "length_limited": self.at_length,
            "length_limited_miscounted": self.wrong_at_length,
            "chunk_sum_disagrees_with_total": self.chunks_disagree,
        }

    def warnings(self) -> list[str]:
        warnings = []
        if self.wrong_at_length:
            counted, limit = self.example or (0, 0)
            warnings.append(
                f"{self.wrong_at_length} of {self.at_length} requests that ended at their length limit "
                f"(finish_reason length) were counted with a number of output tokens other than their "
                f"max_tokens (e.g. {counted} for {limit}): output token counts, and the throughput and TPOT "
                "built on them, are wrong"
            )
        if self.chunks_disagree:
            warnings.append(
                f"{self.chunks_disagree} of {self.checked} requests: the tokens counted chunk by chunk do "
                "not add up to the request's total (the server's usage where it reports one); totals, "
                "throughput and TPOT use the total"
            )
        return warnings


def check_token_counts(records: Iterable[RequestRecord]) -> TokenCountCheck:
    """Both checks over the successful requests of a run."""
    checked = at_length = wrong = disagree = 0
    example = None
    for record in records:
        if not record.success:
            continue
        checked += 1
        if record.finish_reason == "length":
            at_length += 1
            if record.output_tokens != record.expected_output_tokens:
                wrong += 1
                example = example or (record.output_tokens, record.expected_output_tokens)
        if record.chunk_tokens and sum(record.chunk_tokens) != record.output_tokens:
            disagree += 1
    return TokenCountCheck(checked, at_length, wrong, example, disagree)


def counted_by_tokenizer(settings: Mapping[str, Any]) -> bool:
    """The engine's settings say its totals are a tokenizer's re-count of text, not exact counts."""
    return settings.get(TOKEN_TOTALS) == TOKENIZER


TOKENIZER_WARNING = (
    "output tokens were counted by re-tokenizing the streamed text (the server reports no usage): counts "
    "are not exact where text does not round-trip through the tokenizer, nor comparable with exact counts"
)
