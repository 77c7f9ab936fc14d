"""The Transformers engine serving the built-in tiny models on CPU, driven directly (no runner)."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from specbench.config import RunConfig
from specbench.engines.base import Completion, EngineRequest, TokenChunk
from specbench.engines.transformers import TransformersEngine
from specbench.errors import ConfigError, EngineStartError
from specbench.tiny_model import TinyModels

# A prompt that repeats itself, so prompt lookup finds n-grams to propose.
REPEATING_PROMPT = [101, 102, 103, 104, 105, 106] * 6


@dataclass
class Served:
    sent: float
    chunks: list[TokenChunk] = field(default_factory=list)
    completion: Completion | None = None
    end: float | None = None

    @property
    def ttft(self) -> float:
        return self.chunks[0].time - self.sent

    @property
    def e2el(self) -> float:
        assert self.end is not None
        return self.end - self.sent

    @property
    def streamed_tokens(self) -> int:
        return sum(c.num_tokens for c in self.chunks)


@dataclass
class Run:
    served: list[Served]
    stats: dict[str, Any]
    warmup: list[Served]


def prompt(request_id: int, length: int = 24) -> list[int]:
    return [(request_id * 37 + 11 * i) % 1900 + 50 for i in range(length)]


async def _consume(
    engine: TransformersEngine,
    request: EngineRequest,
    *,
    after: asyncio.Event | None = None,
    first_token: asyncio.Event | None = None,
) -> Served:
    if after is not None:
        await after.wait()
    served = Served(sent=time.perf_counter())
    async for event in engine.generate(request):
        if isinstance(event, TokenChunk):
            served.chunks.append(event)
            if first_token is not None:
                first_token.set()
        else:
            served.completion = event
    served.end = time.perf_counter()
    return served


def serve(
    config: RunConfig,
    requests: list[EngineRequest],
    *,
    late: EngineRequest | None = None,
    warmup: list[EngineRequest] | None = None,
) -> Run:
    """Start the engine, run warm-up then reset_figures, send `requests` together (and `late` once the
    first of them has streamed a token), then read stats."""

    async def main() -> Run:
        engine = TransformersEngine(config)
        await engine.start()
        try:
            warm = [await _consume(engine, r) for r in warmup or []]
            await engine.reset_figures()
            started = asyncio.Event()
            streams = [_consume(engine, r, first_token=started) for r in requests]
            if late is not None:
                streams.append(_consume(engine, late, after=started))
            served = await asyncio.gather(*streams)
            return Run(list(served), await engine.figures(), warm)
        finally:
            await engine.shutdown()

    return asyncio.run(main())


def check_stream(served: Served, request: EngineRequest) -> Completion:
    """Invariants every successful stream must satisfy."""
    completion = served.completion
    assert completion is not None
    assert completion.output_tokens == request.max_tokens
    assert served.streamed_tokens == request.max_tokens
    assert completion.prompt_tokens == len(request.prompt_token_ids)
    times = [c.time for c in served.chunks]
    assert times == sorted(times)
    assert 0 < served.ttft <= served.e2el
    assert served.chunks[-1].time <= served.end
    return completion


def config_for(models: TinyModels, **overrides: Any) -> RunConfig:
    return RunConfig(model=models.target, device="cpu", **overrides)


def test_serial_target_ar_streams_every_token_with_exact_counts(tiny_models: TinyModels) -> None:
    requests = [EngineRequest(1, prompt(1), 9), EngineRequest(2, prompt(2, 40), 5)]
    run = serve(config_for(tiny_models), requests)
    for served, request in zip(run.served, requests, strict=True):
        completion = check_stream(served, request)
        assert all(c.num_tokens == 1 for c in served.chunks)
        assert completion.target_forward_passes == request.max_tokens
        assert completion.drafted_tokens is None
    assert run.stats["generate_calls"] == 2
    assert run.stats["target_forward_passes"] == 9 + 5


@pytest.fixture(scope="module")
def eos_first_model(tiny_models: TinyModels, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny target whose EOS token is the very token greedy decoding picks first."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_models.target)
    with torch.inference_mode():
        first = int(model(torch.tensor([prompt(3)])).logits[0, -1].argmax())
    copy = tmp_path_factory.mktemp("eos-first") / "model"
    shutil.copytree(tiny_models.target, copy)
    for name in ("config.json", "generation_config.json"):
        path = copy / name
        if path.is_file():
            settings = json.loads(path.read_text(encoding="utf-8"))
            settings["eos_token_id"] = first
            path.write_text(json.dumps(settings), encoding="utf-8")
    return copy


@pytest.mark.parametrize(
    "overrides",
    [{}, {"transformers": {"batching": "dynamic"}}, {"method": "prompt-lookup"}],
    ids=["serial", "dynamic", "prompt-lookup"],
)
def test_eos_is_ignored_so_every_request_runs_to_its_max_tokens(
    eos_first_model: Path, overrides: dict[str, Any]
) -> None:
    requests = [EngineRequest(3, prompt(3), 12), EngineRequest(4, prompt(4), 7)]
    run = serve(RunConfig(model=eos_first_model, device="cpu", **overrides), requests)
    for served, request in zip(run.served, requests, strict=True):
        check_stream(served, request)


def test_serial_queueing_shows_in_the_second_requests_ttft(tiny_models: TinyModels) -> None:
    requests = [EngineRequest(1, prompt(1), 12), EngineRequest(2, prompt(2), 12)]
    first, second = serve(config_for(tiny_models), requests).served
    # Sent together; the second cannot start before the first has produced its last token.
    assert second.chunks[0].time > first.chunks[-1].time
    assert second.ttft >= first.chunks[-1].time - first.sent


def test_reset_figures_leaves_warmup_out(tiny_models: TinyModels) -> None:
    run = serve(
        config_for(tiny_models),
        [EngineRequest(5, prompt(5), 4)],
        warmup=[EngineRequest(0, prompt(0), 7), EngineRequest(1, prompt(1), 6)],
    )
    assert run.stats["generate_calls"] == 1
    assert run.stats["target_forward_passes"] == 4


def test_draft_equal_to_target_accepts_every_drafted_token(tiny_models: TinyModels) -> None:
    config = config_for(tiny_models, method="speculative", draft_model=tiny_models.target)
    requests = [EngineRequest(1, prompt(1), 16), EngineRequest(2, prompt(2), 11)]
    run = serve(config, requests)
    for served, request in zip(run.served, requests, strict=True):
        completion = check_stream(served, request)
        assert completion.drafted_tokens is not None and completion.drafted_tokens > 0
        assert completion.accepted_tokens == completion.drafted_tokens
        assert completion.output_tokens == completion.accepted_tokens + completion.target_forward_passes
    assert run.stats["spec_acceptance_rate"] == 1.0
    assert run.stats["spec_num_draft_tokens"] == sum(s.completion.drafted_tokens for s in run.served)


def test_speculative_counts_add_up_with_a_real_draft(tiny_models: TinyModels) -> None:
    k = 4
    config = config_for(
        tiny_models,
        method="speculative",
        draft_model=tiny_models.draft,
        speculative={"num_speculative_tokens": k},
    )
    requests = [EngineRequest(i, prompt(i), 20) for i in range(3)]
    run = serve(config, requests, warmup=[EngineRequest(9, prompt(9), 6)])
    drafted = accepted = passes = 0
    for served, request in zip(run.served, requests, strict=True):
        completion = check_stream(served, request)
        assert completion.accepted_tokens <= completion.drafted_tokens
        # Every target pass yields its accepted drafts plus one token of its own.
        assert completion.output_tokens == completion.accepted_tokens + completion.target_forward_passes
        # One streamed chunk per verification round, never more than K + 1 tokens in it.
        assert len(served.chunks) == completion.target_forward_passes
        assert max(c.num_tokens for c in served.chunks) <= k + 1
        drafted += completion.drafted_tokens
        accepted += completion.accepted_tokens
        passes += completion.target_forward_passes
    stats = run.stats
    assert stats["spec_num_draft_tokens"] == drafted
    assert stats["spec_num_accepted_tokens"] == accepted
    assert stats["target_forward_passes"] == passes
    assert stats["spec_acceptance_rate"] == pytest.approx(accepted / drafted)
    assert stats["spec_mean_acceptance_length"] == pytest.approx(1 + accepted / stats["spec_num_drafts"])
    per_position = stats["spec_acceptance_per_position"]
    assert len(per_position) == k
    # A position can only be accepted if every earlier one was.
    assert per_position == sorted(per_position, reverse=True)


def test_prompt_lookup_counts_drafts_from_a_repeating_prompt(tiny_models: TinyModels) -> None:
    config = config_for(tiny_models, method="prompt-lookup", speculative={"num_speculative_tokens": 3})
    request = EngineRequest(1, REPEATING_PROMPT, 15)
    run = serve(config, [request])
    completion = check_stream(run.served[0], request)
    assert completion.drafted_tokens > 0
    assert completion.accepted_tokens <= completion.drafted_tokens
    assert completion.output_tokens == completion.accepted_tokens + completion.target_forward_passes
    assert run.stats["spec_num_draft_tokens"] == completion.drafted_tokens
    assert run.stats["spec_num_drafts"] <= completion.target_forward_passes


def test_dynamic_batching_gives_every_request_its_own_ttft_and_length(tiny_models: TinyModels) -> None:
    config = config_for(
        tiny_models, transformers={"batching": "dynamic", "max_batch_size": 3, "max_wait_ms": 50}
    )
    requests = [
        EngineRequest(1, prompt(1, 20), 6),
        EngineRequest(2, prompt(2, 33), 14),
        EngineRequest(3, prompt(3, 27), 10),
    ]
    late = EngineRequest(4, prompt(4, 25), 8)
    run = serve(config, requests, late=late)
    for served, request in zip(run.served, [*requests, late], strict=True):
        completion = check_stream(served, request)
        assert completion.target_forward_passes == request.max_tokens
    first_batch = run.served[:3]
    # One batch: the same steps, so the same first-token time; each ends at its own length.
    assert len({s.chunks[0].time for s in first_batch}) == 1
    ends = [s.chunks[-1].time for s in first_batch]
    assert ends[0] < ends[2] < ends[1]
    assert run.served[0].completion is not None and run.served[0].end < run.served[1].end
    # The late request waited for the running batch to finish.
    assert run.served[3].chunks[0].time > ends[1]
    assert run.stats["generate_calls"] == 2
    assert run.stats["mean_batch_size"] == pytest.approx(2.0)


def test_continuous_batching_streams_exact_per_token_times(tiny_models: TinyModels) -> None:
    config = config_for(tiny_models, transformers={"batching": "continuous", "max_batch_size": 4})
    requests = [EngineRequest(i, prompt(i, 20 + 3 * i), 6 + 2 * i) for i in range(3)]
    run = serve(config, requests)
    for served, request in zip(run.served, requests, strict=True):
        check_stream(served, request)
        assert all(c.num_tokens == 1 for c in served.chunks)
        assert len({c.time for c in served.chunks}) == request.max_tokens


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"method": "prompt-lookup", "transformers": {"batching": "dynamic"}}, "--batching serial"),
        ({"method": "prompt-lookup", "transformers": {"batching": "continuous"}}, "--batching serial"),
        ({"method": "prompt-lookup", "transformers": {"compile": True}}, "--compile"),
        ({"method": "speculative", "speculative": {"spec_method": "eagle"}}, "vLLM-only"),
    ],
)
def test_unsupported_combinations_are_refused_in_one_line(
    tiny_models: TinyModels, overrides: dict[str, Any], needle: str
) -> None:
    config = config_for(tiny_models, draft_model=tiny_models.draft, **overrides)
    with pytest.raises(ConfigError) as caught:
        TransformersEngine(config)
    assert needle in str(caught.value)
    assert "\n" not in str(caught.value)


def test_speculative_with_dynamic_batching_is_refused(tiny_models: TinyModels) -> None:
    config = config_for(
        tiny_models,
        method="speculative",
        draft_model=tiny_models.draft,
        transformers={"batching": "dynamic"},
    )
    with pytest.raises(ConfigError, match="assisted generation"):
        TransformersEngine(config)


def _start_error(config: RunConfig) -> str:
    async def main() -> None:
        engine = TransformersEngine(config)
        try:
            await engine.start()
        finally:
            await engine.shutdown()

    with pytest.raises(EngineStartError) as caught:
        asyncio.run(main())
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_model_directory_is_a_one_line_start_error(tmp_path: Path) -> None:
    message = _start_error(RunConfig(model=tmp_path / "nowhere", device="cpu"))
    assert "does not exist" in message


def test_a_model_that_is_not_a_causal_lm_is_a_one_line_start_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5", "d_model": 64}))
    message = _start_error(RunConfig(model=tmp_path, device="cpu", dummy_weights=True))
    assert "causal LM" in message


def test_dummy_weights_run_from_a_directory_with_only_config_json(
    tiny_models: TinyModels, tmp_path: Path
) -> None:
    shutil.copy(tiny_models.target / "config.json", tmp_path / "config.json")
    config = RunConfig(model=tmp_path, device="cpu", dummy_weights=True)
    request = EngineRequest(1, prompt(1), 5)
    run = serve(config, [request])
    check_stream(run.served[0], request)


def test_prompt_ids_outside_the_vocabulary_fail_that_request(tiny_models: TinyModels) -> None:
    async def main() -> None:
        engine = TransformersEngine(config_for(tiny_models))
        await engine.start()
        try:
            with pytest.raises(ValueError, match="vocabulary"):
                await _consume(engine, EngineRequest(1, [5, 10**6], 3))
        finally:
            await engine.shutdown()

    asyncio.run(main())


@pytest.mark.slow
def test_compiled_static_cache_reports_compile_time_outside_measured_requests(
    tiny_models: TinyModels,
) -> None:
    pytest.importorskip("torch._inductor")
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("torch.compile on CPU needs a C compiler")
    config = config_for(tiny_models, transformers={"compile": True})
    requests = [EngineRequest(1, prompt(1, 30), 12), EngineRequest(2, prompt(2, 20), 8)]
    run = serve(config, requests, warmup=[EngineRequest(0, prompt(0, 30), 12)])
    for served, request in zip(run.served, requests, strict=True):
        check_stream(served, request)
    assert run.stats["compile_time_s"] > 0
    assert run.stats["compiling_generate_calls"] >= 1
    # Same batch size and cache bucket as the warm-up: nothing compiled while measuring.
    assert run.stats["compiling_generate_calls_measured"] == 0
    assert run.stats["compile_time_s"] > run.warmup[0].e2el / 2


def test_draft_ar_serves_the_draft_model_alone(tiny_models: TinyModels) -> None:
    config = config_for(tiny_models, method="draft-ar", draft_model=tiny_models.draft)
    request = EngineRequest(1, prompt(1), 7)
    run = serve(config, [request])
    completion = check_stream(run.served[0], request)
    assert completion.target_forward_passes == 7
    assert completion.drafted_tokens is None
    assert TransformersEngine(config).describe().model == str(tiny_models.draft)


def test_a_request_cancelled_while_queued_is_never_generated(tiny_models: TinyModels) -> None:
    async def main() -> tuple[Served, dict[str, Any]]:
        engine = TransformersEngine(config_for(tiny_models))
        await engine.start()
        try:
            started = asyncio.Event()
            running = asyncio.create_task(
                _consume(engine, EngineRequest(1, prompt(1), 40), first_token=started)
            )
            queued = asyncio.create_task(_consume(engine, EngineRequest(2, prompt(2), 40)))
            await started.wait()
            queued.cancel()
            served = await running
            return served, await engine.figures()
        finally:
            await engine.shutdown()

    served, stats = asyncio.run(main())
    assert served.completion is not None and served.completion.output_tokens == 40
    assert stats["generate_calls"] == 1


def test_shutdown_stops_a_running_generation_at_its_next_step(tiny_models: TinyModels) -> None:
    async def main() -> Served:
        engine = TransformersEngine(config_for(tiny_models))
        await engine.start()
        started = asyncio.Event()
        running = asyncio.create_task(
            _consume(engine, EngineRequest(1, prompt(1), 1500), first_token=started)
        )
        await started.wait()
        await engine.shutdown()
        return await running

    served = asyncio.run(main())
    assert served.completion is not None
    assert served.completion.finish_reason == "abort"
    assert 0 < served.completion.output_tokens < 1500
    assert served.streamed_tokens == served.completion.output_tokens
