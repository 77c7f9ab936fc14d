"""Notes on what a workload means for the figures it yields, for the result header."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from specbench.config import EngineName, RunConfig
from specbench.workload.prompts import resolve_format

RANDOM_PROMPTS_SPECULATION = (
    "random-token prompts: the acceptance measured here is not that of real text (SPEED-Bench found random "
    "prompts overstate speculative throughput by about 23 %); for real acceptance use a question file, e.g. "
    "--dataset question.jsonl in MT-bench / Spec-Bench layout (docs/SPEC_BENCH.md)"
)


def question_notes(config: RunConfig, summary: Mapping[str, Any]) -> list[str]:
    """Questions sent to a served model over /v1/completions skip the server's own chat template."""
    if config.engine is EngineName.openai and "chat_template" in summary and not config.openai.chat:
        return [
            "questions go to /v1/completions as written by the chat template here "
            f"({summary['chat_template']}); pass --chat to send them as chat messages through the server's "
            "own template"
        ]
    return []


def speculation_notes(config: RunConfig) -> list[str]:
    """A speculative run with real weights on random-token prompts measures an acceptance no user sees.

    With dummy weights every acceptance is meaningless and the engines say so themselves; the echo engine
    has no model at all.
    """
    workload = config.workload
    random_prompts = resolve_format(workload.dataset, workload.dataset_format) == "random"
    if (
        config.is_speculative
        and random_prompts
        and not config.dummy_weights
        and config.engine is not EngineName.echo
    ):
        return [RANDOM_PROMPTS_SPECULATION]
    return []
