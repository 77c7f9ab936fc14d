"""vLLM behind specbench's Engine protocol: an in-process AsyncLLM streaming every request's tokens."""

from __future__ import annotations

import asyncio
import functools
import gc
import itertools
import os
import time
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from specbench.engines.args import VllmArgs
from specbench.engines.base import (
    Completion,
    DevicePlacement,
    EngineInfo,
    EngineRequest,
    StreamEvent,
    TokenChunk,
)
from specbench.engines.vllm.args import EnginePlan, detect_platform, plan_engine, served_model
from specbench.engines.vllm.console import ConsoleTail
from specbench.engines.vllm.metrics import KvCachePeak, MetricsSnapshot, run_stats
from specbench.engines.vllm.processes import EngineProcesses
from specbench.engines.vllm.request_spec import per_request_kwargs, request_spec_counts
from specbench.engines.vllm.startup import NOT_INSTALLED, start_error
from specbench.errors import EngineStartError, SpecbenchError

# Emptying the prefix cache between points: vLLM refuses while a request still runs.
_RESET_TRIES = 10
_RESET_RETRY_S = 0.2


@dataclass(frozen=True, slots=True)
class _Running:
    """A started vLLM and what each request needs from it."""

    llm: Any  # vllm.v1.engine.async_llm.AsyncLLM
    sampling_params: Callable[..., Any]
    render: Callable[[list[Any]], list[Any]] | None


class VllmEngine:
    """Streams requests through vLLM's AsyncLLM; reports vLLM's own counters for the measured part."""

    def __init__(self, config: VllmArgs) -> None:
        self._config = config
        self._plan: EnginePlan | None = None
        self._running: _Running | None = None
        self._resolved: dict[str, Any] = {}
        self._request_seq = itertools.count()
        self._baseline = MetricsSnapshot()
        self._kv_peak = KvCachePeak()
        self._undo_env_cache: Callable[[], None] | None = None
        self._processes = EngineProcesses()
        self._saved_env: dict[str, str | None] = {}

    async def start(self) -> None:
        if self._running is not None:
            return
        async_llm, engine_args, serving = _import_vllm()
        plan = self._plan = plan_engine(self._config, detect_platform(), dict(os.environ))
        self._set_env(plan.env)
        self._processes.before_start()
        console = ConsoleTail()
        console.start()
        try:
            # Loading takes tens of seconds; a worker thread keeps this event loop (progress display) alive.
            # The API server's usage context gives the batch-size defaults of `vllm serve`.
            args = engine_args(**per_request_kwargs(plan.engine_kwargs, engine_args))
            # Only where vLLM keeps stats anyway: a custom logger would switch them on.
            loggers = [self._kv_peak.logger_factory()] if self._stats_enabled else []
            # No local here may hold the AsyncLLM: vLLM's first import (in _import_vllm) leaves an import
            # frame alive whose caller chain reaches this frame, so its locals would outlive shutdown().
            launch = asyncio.ensure_future(
                asyncio.to_thread(_launch, async_llm, args, serving, loggers, plan.detokenize)
            )
            try:
                self._running = await asyncio.shield(launch)
            except asyncio.CancelledError:
                await self._abandon(launch)
                raise
        except Exception as exc:
            self._processes.stop()
            self._restore_env()
            raise start_error(exc, console.lines()) from None
        finally:
            console.stop()
        self._processes.after_start()
        self._resolved = _resolved_settings(self._running.llm.vllm_config)
        self._undo_env_cache = _cache_vllm_env()

    async def _abandon(self, launch: asyncio.Future[_Running]) -> None:
        """The start was given up (Ctrl-C, SIGTERM). The launch thread cannot be stopped, but the engine
        processes it starts can: killing them makes it fail within moments instead of finishing an engine
        that nobody would shut down."""
        while not launch.done():
            self._processes.kill_started()
            await asyncio.wait({launch}, timeout=0.25)
        error = launch.exception()
        if error is None:
            launch.result().llm.shutdown()
        else:
            # Its tracebacks hold the half-built AsyncLLM; let it go now, while vLLM's modules are alive,
            # not at interpreter exit where its __del__ prints a traceback.
            _drop_tracebacks(error)
        del error, launch
        gc.collect()
        self._processes.stop()
        self._restore_env()

    async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        running = self._started()
        params = running.sampling_params(max_tokens=request.max_tokens, ignore_eos=request.ignore_eos)
        prompt: Any = {"prompt_token_ids": request.prompt_token_ids}
        if running.render is not None:
            (prompt,) = running.render([prompt])
        # Warm-up and measured requests may reuse ids; vLLM needs every live id to be unique.
        request_id = f"{request.request_id}-{next(self._request_seq)}"
        output_tokens = 0
        output_ids: list[int] = []
        last: Any = None
        # aclosing: a consumer that stops early closes vLLM's stream, which aborts the request.
        async with aclosing(running.llm.generate(prompt, params, request_id)) as stream:
            async for output in stream:
                now = time.perf_counter()
                token_ids = output.outputs[0].token_ids
                new_tokens = len(token_ids)
                last = output
                if new_tokens:
                    output_tokens += new_tokens
                    output_ids.extend(token_ids)
                    yield TokenChunk(now, new_tokens)
        if last is None:
            raise RuntimeError(f"vLLM returned no output for request {request.request_id}")
        prompt_ids = last.prompt_token_ids
        spec = request_spec_counts(last.outputs[0])
        cached = getattr(last, "num_cached_tokens", None)  # prefix-cache hits of this request
        yield Completion(
            prompt_tokens=len(prompt_ids) if prompt_ids is not None else len(request.prompt_token_ids),
            output_tokens=output_tokens,
            finish_reason=last.outputs[0].finish_reason,
            drafted_tokens=spec.draft_tokens if spec else None,
            accepted_tokens=spec.accepted_tokens if spec else None,
            drafts=spec.drafts if spec else None,
            output_token_ids=output_ids,
            cached_prompt_tokens=cached if isinstance(cached, int) else None,
        )

    def describe(self) -> EngineInfo:
        config = self._config
        if self._plan is None:
            try:
                self._plan = plan_engine(config, detect_platform(), dict(os.environ))
            except (ImportError, SpecbenchError) as exc:
                # start() raises the same problem as a clean error; the header still shows the request.
                return EngineInfo("vllm", None, str(config.model), config.method.value, notes=[str(exc)])
        return EngineInfo(
            name="vllm",
            version=_vllm_version(),
            model=str(served_model(config)),
            method=config.method.value,
            settings={**self._plan.settings, **self._resolved},
            notes=list(self._plan.notes),
            placement=self._placement(self._plan),
            # What the started engine took (its own default when --max-model-len was left unset): the
            # session's context check holds every later point against it.
            max_model_len=self._resolved.get("max_model_len"),
        )

    def _placement(self, plan: EnginePlan) -> DevicePlacement:
        dtype = self._resolved.get("dtype") or plan.engine_kwargs["dtype"]
        return DevicePlacement(
            cuda_devices=plan.cuda_devices,
            tensor_parallel_size=plan.engine_kwargs["tensor_parallel_size"],
            weights_dtype=None if dtype == "auto" else dtype,
        )

    async def figures(self) -> dict[str, Any]:
        if self._running is None or not self._stats_enabled:
            return {}
        return run_stats(self._baseline, MetricsSnapshot.capture(), self._kv_peak.peak)

    async def reset_figures(self) -> None:
        if self._running is not None and self._stats_enabled:
            self._baseline = MetricsSnapshot.capture()
            self._kv_peak.reset()

    async def wait_idle(self) -> None:
        # Nothing to wait for: when a point ends every stream is closed, vLLM's front end forgets a cancelled
        # request at once, and the engine core drops it at its next step (milliseconds, inside the settle time
        # between points). What can be checked is that the engine core is still alive.
        running = self._running
        if running is not None and running.llm.errored:
            raise RuntimeError("vLLM's engine core has died; see the engine log")

    async def forget_prompts(self) -> bool:
        # Between points, so no request runs; vLLM refuses (False) while one still does, and the engine core
        # drops a cancelled request at its next step: a few tries cover that.
        llm = self._started().llm
        for _ in range(_RESET_TRIES):
            if await llm.reset_prefix_cache():
                return True
            await asyncio.sleep(_RESET_RETRY_S)
        return False

    async def shutdown(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            # Blocking this loop on purpose: were it free, vLLM's output handler would wake up to a dead
            # engine and log a traceback before shutdown() cancels it.
            running.llm.shutdown()
            # AsyncLLM.__del__ shuts down again. Usually collecting now runs it while vLLM's modules are
            # alive; where something still holds the engine (a cancelled request's traceback), it would run
            # at interpreter exit and print a traceback, so the second shutdown is made a no-op.
            running.llm.shutdown = _already_shut_down
            del running
            gc.collect()
        self._processes.stop()
        if self._undo_env_cache is not None:
            self._undo_env_cache()
            self._undo_env_cache = None
        self._restore_env()

    @property
    def _stats_enabled(self) -> bool:
        # With stat logging off vLLM registers no metrics; any left in the registry are a past engine's.
        return self._plan is not None and not self._plan.engine_kwargs["disable_log_stats"]

    def _started(self) -> _Running:
        if self._running is None:
            raise RuntimeError("VllmEngine.generate() called before start()")
        return self._running

    def _set_env(self, env: dict[str, str]) -> None:
        # The engine process inherits this process's environment when it is spawned.
        for key, value in env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()


def _already_shut_down(timeout: float | None = None) -> None:
    """Stands in for AsyncLLM.shutdown once the engine has been shut down."""


def _drop_tracebacks(error: BaseException) -> None:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
        current.__traceback__ = None
        pending += [current.__cause__, current.__context__]


def _import_vllm() -> tuple[Any, Any, Any]:
    try:
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.usage.usage_lib import UsageContext
        from vllm.v1.engine.async_llm import AsyncLLM
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != "vllm":
            raise EngineStartError(f"vLLM is installed but cannot be imported: {exc}") from None
        raise EngineStartError(NOT_INSTALLED) from None
    return AsyncLLM, AsyncEngineArgs, UsageContext.OPENAI_API_SERVER


def _vllm_version() -> str | None:
    try:
        import vllm
    except ImportError:
        return None
    return str(vllm.__version__)


def _launch(
    async_llm: Any, args: Any, usage_context: Any, stat_loggers: list[type], detokenize: bool
) -> _Running:
    llm = async_llm.from_engine_args(args, usage_context=usage_context, stat_loggers=stat_loggers or None)
    return _Running(llm, _sampling_params_factory(detokenize), _renderer(llm))


def _cache_vllm_env() -> Callable[[], None] | None:
    """Freeze vLLM's view of the environment while the engine runs; returns the undo, if any.

    Until told otherwise vLLM re-reads os.environ on every access to one of its settings, some of
    them once per generated token in the front end. vLLM caches them itself once its engine process
    is up; this does the same for the front end. Undone at shutdown, so a later engine in this process
    sees the environment as it is then.
    """
    from vllm import envs

    enable, disable = getattr(envs, "enable_envs_cache", None), getattr(envs, "disable_envs_cache", None)
    if enable is None or disable is None or hasattr(envs.__getattr__, "cache_clear"):
        return None  # an older vLLM, or someone in this process cached it already: leave it be
    enable()
    return disable


def _sampling_params_factory(detokenize: bool) -> Callable[..., Any]:
    """Greedy, streamed as deltas: each output carries only the tokens new since the last one."""
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    return functools.partial(
        SamplingParams, temperature=0.0, output_kind=RequestOutputKind.DELTA, detokenize=detokenize
    )


def _renderer(llm: Any) -> Any:
    """The renderer's render_cmpl, as vLLM's own LLM.generate uses, where this vLLM has one.

    Rendering token ids here costs microseconds; handing vLLM a raw prompt instead sends each request
    through a thread pool (and is deprecated).
    """
    renderer = getattr(llm, "renderer", None)
    return getattr(renderer, "render_cmpl", None)


def _resolved_settings(vllm_config: Any) -> dict[str, Any]:
    """What vLLM actually chose for the settings left to its defaults."""
    model = vllm_config.model_config
    cache = vllm_config.cache_config
    scheduler = vllm_config.scheduler_config
    parallel = vllm_config.parallel_config
    blocks, block_size = getattr(cache, "num_gpu_blocks", None), getattr(cache, "block_size", None)
    resolved = {
        "max_model_len": getattr(model, "max_model_len", None),
        "dtype": str(getattr(model, "dtype", "")).removeprefix("torch.") or None,
        "max_num_seqs": getattr(scheduler, "max_num_seqs", None),
        "max_num_batched_tokens": getattr(scheduler, "max_num_batched_tokens", None),
        "enable_prefix_caching": getattr(cache, "enable_prefix_caching", None),
        "distributed_executor_backend": _name(getattr(parallel, "distributed_executor_backend", None)),
        "kv_cache_tokens": blocks * block_size if blocks and block_size else None,
    }
    return {key: value for key, value in resolved.items() if value is not None}


def _name(value: Any) -> str | None:
    # vLLM accepts an executor class here as well as a backend name.
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "__name__", str(value))
