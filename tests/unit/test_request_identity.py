"""What a record keeps of its request beyond timings: the prompt's category, the engine's per-request draft
counts and the output token ids (the lossless check compares them); and where vLLM's exact per-request
speculative counts come from."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from specbench.config import RunConfig
from specbench.engines.base import Completion, EngineRequest, StreamEvent, TokenChunk
from specbench.engines.vllm.request_spec import ENGINE_ARG, per_request_kwargs, request_spec_counts
from specbench.runner.dispatcher import RunOutcome, run_workload
from specbench.session.workload_notes import RANDOM_PROMPTS_SPECULATION, question_notes, speculation_notes
from specbench.workload.types import PlannedRequest, Workload


class CountingEngine:
    """Streams the prompt back as output ids, with draft counts derived from the request id."""

    async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        ids = list(request.prompt_token_ids[: request.max_tokens])
        yield TokenChunk(0.0, len(ids))
        yield Completion(
            prompt_tokens=len(request.prompt_token_ids),
            output_tokens=len(ids),
            drafted_tokens=4 * request.request_id,
            accepted_tokens=request.request_id,
            drafts=request.request_id,
            output_token_ids=ids,
        )

    async def reset_figures(self) -> None:
        pass


def run(keep_output_ids: bool = True) -> RunOutcome:
    requests = [
        PlannedRequest(i, 0.0, [7, 8, 9], max_tokens=2, category=category)
        for i, category in enumerate(["math", "qa", None])
    ]
    workload = Workload(warmup=[], requests=requests, send_window_s=None)
    engine: Any = CountingEngine()
    return asyncio.run(run_workload(engine, workload, keep_output_ids=keep_output_ids))


def test_records_keep_the_category_draft_counts_and_output_ids_of_their_request():
    records = run().records
    assert [r.category for r in records] == ["math", "qa", None]
    assert [(r.drafted_tokens, r.accepted_tokens, r.drafts) for r in records] == [
        (0, 0, 0),
        (4, 1, 1),
        (8, 2, 2),
    ]
    assert [r.output_token_ids for r in records] == [[7, 8]] * 3


def test_output_ids_are_left_out_when_not_wanted():
    assert {tuple(r.output_token_ids or ()) for r in run(keep_output_ids=False).records} == {()}


def test_vllm_counts_per_request_only_where_it_speculates():
    vllm_args = pytest.importorskip("vllm.engine.arg_utils").AsyncEngineArgs
    assert per_request_kwargs({"speculative_config": {"method": "ngram"}}, vllm_args)[ENGINE_ARG] == "summary"
    assert ENGINE_ARG not in per_request_kwargs({"speculative_config": None}, vllm_args)

    @dataclass
    class OldArgs:  # a vLLM before per-request counting: nothing is asked of it
        model: str = ""

    assert ENGINE_ARG not in per_request_kwargs({"speculative_config": {"method": "ngram"}}, OldArgs)


def test_vllm_per_request_counts_come_from_its_acceptance_histogram():
    stats = pytest.importorskip("vllm.v1.metrics.stats")
    metrics = stats.RequestSpecDecodeMetrics.new(num_spec_tokens=3)
    # Verification steps as vLLM's scheduler observes them: (draft tokens, accepted).
    for drafted, accepted in [(3, 3), (3, 0), (2, 1), (3, 2)]:
        metrics.observe(num_draft_tokens=drafted, num_accepted=accepted)

    class Output:
        spec_decode_metrics = metrics

    counts = request_spec_counts(Output())
    assert counts is not None
    assert (counts.drafts, counts.draft_tokens, counts.accepted_tokens) == (4, 11, 6)
    assert request_spec_counts(object()) is None


def config(**values: Any) -> RunConfig:
    return RunConfig.model_validate(values)


def test_speculation_on_random_prompts_with_real_weights_is_noted():
    assert speculation_notes(config(method="speculative")) == [RANDOM_PROMPTS_SPECULATION]
    assert speculation_notes(config(method="prompt-lookup", engine="vllm")) == [RANDOM_PROMPTS_SPECULATION]


@pytest.mark.parametrize(
    "values",
    [
        {"method": "target-ar"},
        {"method": "speculative", "dummy_weights": True},  # the engines say acceptance is meaningless
        {"method": "speculative", "engine": "echo"},
        {"method": "speculative", "workload": {"dataset": "questions.jsonl"}},
    ],
)
def test_no_random_prompt_note_where_it_does_not_apply(values):
    assert speculation_notes(config(**values)) == []


def test_questions_sent_to_a_served_model_without_chat_are_noted():

    served = config(engine="openai")
    assert "pass --chat" in question_notes(served, {"chat_template": "tokenizer"})[0]
    assert (
        question_notes(config(engine="openai", openai={"chat": True}), {"chat_template": "tokenizer"}) == []
    )
    assert question_notes(served, {}) == []  # no questions in the workload
