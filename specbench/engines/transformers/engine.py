"""TransformersEngine: Hugging Face generate() behind the specbench Engine protocol."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from specbench.engines.args import TransformersArgs
from specbench.engines.base import (
    Completion,
    DevicePlacement,
    EngineInfo,
    EngineRequest,
    StreamEvent,
    TokenChunk,
)
from specbench.engines.transformers.channel import RequestChannel
from specbench.engines.transformers.decoding import (
    CACHE_BUCKET,
    DecodingKind,
    DecodingSetup,
    build_setup,
    check_supported,
    decoding_kind,
)
from specbench.engines.transformers.stats import EngineCounters
from specbench.engines.transformers.streaming import DELIVERY_INTERVAL_S
from specbench.errors import EngineStartError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel

    from specbench.engines.transformers.worker import GenerationWorker


class Scheduler(Protocol):
    def submit(self, channel: RequestChannel) -> None: ...

    def cancel(self, channel: RequestChannel) -> None: ...

    async def settle(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Loaded:
    setup: DecodingSetup
    device: torch.device
    dtype: torch.dtype
    load_time_s: float
    vocab_size: int


class TransformersEngine:
    """Serves requests with model.generate() (serial or dynamic batches) or Transformers' continuous
    batching, streaming per-token times stamped in the generation thread."""

    def __init__(self, config: TransformersArgs) -> None:
        self._config = config
        self._kind: DecodingKind = decoding_kind(config)
        check_supported(config, self._kind)
        # draft-ar measures the draft model alone, so it is the one that serves.
        self._serving = config.draft_model if self._kind.generator_is_draft else config.model
        self._counters = EngineCounters(speculative=self._kind.assisted, compile=config.transformers.compile)
        self._loaded: _Loaded | None = None
        self._worker: GenerationWorker | None = None
        self._scheduler: Scheduler | None = None
        self._scheduler_notes: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        # Loading takes seconds to minutes: never on the event loop.
        self._loaded = await asyncio.to_thread(self._load)
        loop = asyncio.get_running_loop()
        batching = self._config.transformers.batching
        if batching == "continuous":
            from specbench.engines.transformers.continuous import ContinuousServer

            # Building the paged KV cache allocates it: not on the event loop either.
            server = await asyncio.to_thread(
                ContinuousServer,
                self._loaded.setup.model,
                self._config.transformers.max_batch_size,
                self._config.transformers.compile,
            )
            await asyncio.to_thread(server.start)
            self._scheduler_notes = server.notes()
            self._scheduler = server
            return
        from specbench.engines.transformers.worker import GenerationWorker

        self._worker = GenerationWorker(self._loaded.setup, self._counters.add_job, loop)
        if batching == "dynamic":
            from specbench.engines.transformers.dynamic import DynamicBatcher

            self._scheduler = DynamicBatcher(
                self._worker,
                self._config.transformers.max_batch_size,
                self._config.transformers.max_wait_ms / 1000,
            )
        else:
            from specbench.engines.transformers.serial import SerialScheduler

            self._scheduler = SerialScheduler(self._worker)

    def _load(self) -> _Loaded:
        from transformers import set_seed

        from specbench.engines.transformers.loading import (
            load_causal_lm,
            load_tokenizer,
            pad_token_id,
            resolve_device,
            resolve_dtype,
        )

        config = self._config
        serving_path = self._serving
        if serving_path is None:
            raise EngineStartError("no model directory given: pass --model DIR")
        device = resolve_device(config.device)
        dtype = resolve_dtype(config.dtype, device)
        set_seed(config.seed)
        common: dict[str, Any] = {
            "device": device,
            "dtype": dtype,
            "dummy_weights": config.dummy_weights,
            "attn_implementation": config.transformers.attn_implementation,
            "trust_remote_code": config.trust_remote_code,
        }
        role = "draft model" if self._kind.generator_is_draft else "model"
        loaded = load_causal_lm(Path(serving_path), role=role, **common)
        assistant: PreTrainedModel | None = None
        load_time = loaded.load_time_s
        if self._kind.draft_model:
            if config.draft_model is None:
                raise EngineStartError("speculative decoding needs a draft model: pass --draft-model DIR")
            # Re-seed so dummy weights depend on the seed alone: a dummy draft of the target's own
            # config is then the target itself (acceptance 1.0), which checks the counting end to end.
            set_seed(config.seed)
            draft = load_causal_lm(Path(config.draft_model), role="draft model", **common)
            assistant, load_time = draft.model, load_time + draft.load_time_s
        tokenizer = load_tokenizer(Path(config.tokenizer or serving_path), config.trust_remote_code)
        if tokenizer is not None and tokenizer.pad_token is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        model = loaded.model
        setup = build_setup(config, self._kind, model, assistant, pad_token_id(model, tokenizer))
        return _Loaded(
            setup=setup,
            device=device,
            dtype=dtype,
            load_time_s=load_time,
            vocab_size=int(model.get_input_embeddings().num_embeddings),
        )

    async def shutdown(self) -> None:
        if self._scheduler is not None:
            await self._scheduler.close()
            self._scheduler = None
        if self._worker is not None:
            await asyncio.to_thread(self._worker.shutdown)
            self._worker = None
        if self._loaded is not None:
            device = self._loaded.device
            self._loaded = None
            gc.collect()
            if device.type == "cuda":
                import torch

                torch.cuda.empty_cache()

    # -- serving -----------------------------------------------------------------------------------

    async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        scheduler, loaded = self._scheduler, self._loaded
        if scheduler is None or loaded is None:
            raise RuntimeError("TransformersEngine.generate() called before start()")
        _check_request(request, loaded.vocab_size)
        channel = RequestChannel(request, asyncio.get_running_loop())
        scheduler.submit(channel)
        done = False
        try:
            while True:
                item = await channel.queue.get()
                if isinstance(item, TokenChunk):
                    yield item
                elif isinstance(item, Completion):
                    done = True
                    if request.keep_output and item.output_token_ids is None:
                        item = replace(item, output_token_ids=channel.output_ids)
                    yield item
                    return
                else:
                    done = True
                    raise item
        finally:
            if not done:
                # The caller gave up (cancelled run): let the server skip or stop this request.
                channel.abandoned = True
                scheduler.cancel(channel)

    async def figures(self) -> dict[str, Any]:
        if self._scheduler is None:
            return {}
        await self._scheduler.settle()
        if self._config.transformers.batching == "continuous":
            return {}
        return self._counters.as_stats()

    async def reset_figures(self) -> None:
        if self._scheduler is not None:
            await self._scheduler.settle()
        self._counters.reset()

    async def wait_idle(self) -> None:
        # settle() returns once the generation thread has finished (or stopped) every job it was given.
        if self._scheduler is not None:
            await self._scheduler.settle()

    # -- description -------------------------------------------------------------------------------

    def describe(self) -> EngineInfo:
        import torch
        import transformers

        config, kind, loaded = self._config, self._kind, self._loaded
        tf = config.transformers
        settings: dict[str, Any] = {
            "batching": tf.batching,
            "compile": tf.compile,
            "dtype": str(loaded.dtype).removeprefix("torch.") if loaded else config.dtype,
            "device": str(loaded.device) if loaded else config.device,
            "attn_implementation": (
                loaded.setup.model.config._attn_implementation if loaded else tf.attn_implementation
            ),
            "dummy_weights": config.dummy_weights,
            "seed": config.seed,
            "torch_version": torch.__version__,
            "greedy": True,
            "ignore_eos": True,
        }
        if tf.batching != "serial":
            settings["max_batch_size"] = tf.max_batch_size
        if tf.batching == "dynamic":
            settings["max_wait_ms"] = tf.max_wait_ms
        if tf.batching != "continuous":
            # The method, kept with the result (and in docs/TRANSFORMERS_ENGINE.md), not shown in the summary.
            settings["token_times"] = (
                "time.perf_counter() in the generation thread, inside the streamer's put(), right after each "
                "step's tokens reach the host; handed to the event loop at most every "
                f"{DELIVERY_INTERVAL_S * 1000:g} ms (completions at once), which moves no timestamp"
            )
        if loaded is not None:
            settings["load_time_s"] = round(loaded.load_time_s, 3)
        if kind.assisted:
            settings["num_speculative_tokens"] = config.speculative.num_speculative_tokens
        if kind.draft_model:
            settings["draft_model"] = str(config.draft_model)
            settings["draft_schedule"] = config.speculative.draft_schedule
        if kind.prompt_lookup:
            settings["prompt_lookup_max_ngram"] = config.speculative.ngram_prompt_lookup_max
        return EngineInfo(
            name="transformers",
            version=transformers.__version__,
            model=str(self._serving),
            method=config.method.value,
            settings=settings,
            notes=self._notes(),
            placement=self._placement(),
        )

    def _placement(self) -> DevicePlacement:
        loaded = self._loaded
        if loaded is None:
            return DevicePlacement()
        dtype = str(loaded.dtype).removeprefix("torch.")
        if loaded.device.type != "cuda":
            return DevicePlacement(weights_dtype=dtype)
        import torch

        # Plain "cuda" loads onto the current device.
        index = loaded.device.index if loaded.device.index is not None else torch.cuda.current_device()
        return DevicePlacement(cuda_devices=(index,), weights_dtype=dtype)

    def _notes(self) -> list[str]:
        config, kind = self._config, self._kind
        tf = config.transformers
        # In a user's words: what to keep in mind when reading the figures. How token times are taken
        # is the method, told in docs/TRANSFORMERS_ENGINE.md, not on every run's screen.
        notes = ["greedy decoding; every request generates exactly its output length (EOS ignored)"]
        if tf.batching == "continuous":
            notes.extend(self._scheduler_notes)
        if tf.batching == "serial":
            notes.append("serial batching: one request at a time; time waiting for the engine counts in TTFT")
        if tf.batching == "dynamic":
            notes.append(
                f"dynamic batching: waiting requests run together (up to {tf.max_batch_size}, after waiting "
                f"up to {tf.max_wait_ms:g} ms for more); a batch runs until its longest request is done, and "
                "requests arriving meanwhile wait for the next batch"
            )
        spec = config.speculative
        if kind.draft_model:
            notes.append(
                f"speculative: assisted generation (batch size 1), K={spec.num_speculative_tokens} "
                f"({spec.draft_schedule} schedule), draft confidence threshold off so drafts are not cut "
                "short; drafted/accepted tokens counted per round from the candidate generator"
            )
        if kind.prompt_lookup:
            notes.append(
                f"prompt lookup: K={spec.num_speculative_tokens}, n-grams of {spec.ngram_prompt_lookup_max} "
                "down to 1 tokens (Transformers has no minimum); drafted/accepted tokens counted per round "
                "from the candidate generator"
            )
        if kind.assisted:
            notes.append(
                "spec_acceptance_per_position: each position's acceptances / spec_num_drafts, as in vLLM"
            )
        if tf.compile:
            if tf.batching == "continuous":
                notes.append("compile: Transformers' continuous-batching default compile level 1")
            else:
                notes.append(
                    f"compile: static KV cache (prompt + output rounded up to {CACHE_BUCKET} tokens) with "
                    "generate()'s torch.compile of the decode step; prefill runs eager. compile_time_s sums "
                    "the generate() calls during which torch.compile produced code (their own generation "
                    "included); compiling_generate_calls_measured > 0 means compiling happened in measured "
                    "requests (warm-up too short, or a new batch size / cache bucket appeared)"
                )
        if config.dummy_weights:
            notes.append(
                "dummy weights: speed is real, generated text is meaningless"
                + (", and so is draft acceptance" if kind.assisted else "")
            )
        return notes


def _check_request(request: EngineRequest, vocab_size: int) -> None:
    if not request.prompt_token_ids:
        raise ValueError(f"request {request.request_id} has an empty prompt")
    if request.max_tokens < 1:
        raise ValueError(f"request {request.request_id} asks for {request.max_tokens} output tokens")
    lowest, highest = min(request.prompt_token_ids), max(request.prompt_token_ids)
    if highest >= vocab_size or lowest < 0:
        bad = highest if highest >= vocab_size else lowest
        raise ValueError(
            f"request {request.request_id} has token id {bad} outside the model's vocabulary "
            f"({vocab_size}): the prompts were tokenized for another model"
        )
