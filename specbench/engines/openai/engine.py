"""A served model behind an OpenAI-compatible API (vllm serve, SGLang, TGI, a gateway) as a specbench engine.

Every request is one streamed POST to /v1/completions (or /v1/chat/completions); TTFT and every
inter-token gap come from when each piece of the stream arrived. Before anything is measured, start()
finds the server, its model and what it accepts (see features.py); where the server exposes vLLM's
Prometheus counters, the engine reads them before and after the measured requests, as the in-process
vLLM engine does, and reports the same figures under the same names.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import httptools
import orjson

from specbench import __version__
from specbench.config import Method
from specbench.engines.args import OpenAIArgs
from specbench.engines.base import Completion, EngineInfo, EngineRequest, StreamEvent, TokenChunk
from specbench.engines.openai.connection import (
    HttpClient,
    HttpError,
    Origin,
    RequestTimeout,
    StatusError,
    StreamCut,
)
from specbench.engines.openai.credentials import ApiKey
from specbench.engines.openai.features import ServerFeatures, probe_features, request_body, stream_options
from specbench.engines.openai.prometheus import MetricsFormatError, parse_families
from specbench.engines.openai.sse import SseDecoder
from specbench.engines.openai.stream import CompletionStream, StreamError, error_text, html_page, one_line
from specbench.engines.openai.tokens import TextTokenizer, load_text_tokenizer
from specbench.engines.vllm.metrics import MetricsSnapshot, run_stats
from specbench.errors import EngineStartError
from specbench.metrics.token_counts import TOKEN_TOTALS

# A prompt for probing the server: the tokenizer's encoding of this text, or without a tokenizer ids that
# every vocabulary has (a byte-level one has at least 256 tokens; ids 1000+ are out of a small model's).
_PROBE_TEXT = "Hello, how are you today?"
_PROBE_IDS_WITHOUT_TOKENIZER = tuple(range(100, 108))


class OpenAIEngine:
    """Streams each request from the server; its /metrics counters give the engine-side figures."""

    def __init__(self, config: OpenAIArgs) -> None:
        self._config = config
        settings = config.openai
        self._origin = Origin.from_url(settings.base_url)
        self._chat = settings.chat
        self._path = "/chat/completions" if self._chat else "/completions"
        self._metrics_url = _metrics_url(settings.metrics_url, self._origin)
        self._key = ApiKey(settings.api_key_env, None)
        self._client: HttpClient | None = None
        self._metrics_client: HttpClient | None = None
        self._model: str | None = settings.served_model_name
        self._server: dict[str, Any] = {}
        self._features: ServerFeatures | None = None
        self._options: dict[str, bool] | None = None
        self._tokenizer: TextTokenizer | None = None
        self._metrics_note: str | None = None
        self._baseline: MetricsSnapshot | None = None
        self._spec_on_server = False

    async def start(self) -> None:
        config, settings = self._config, self._config.openai
        if self._chat and settings.prompt_format == "token-ids":
            raise EngineStartError(
                "chat messages are text: --prompt-format token-ids does not apply with --chat"
            )
        self._key = ApiKey.from_env(settings.api_key_env, os.environ)
        _raise_open_file_limit()
        client = self._client = HttpClient(
            self._origin,
            headers={"User-Agent": f"specbench/{__version__}", **self._key.headers()},
            connect_timeout_s=settings.connect_timeout_s,
            read_timeout_s=settings.read_timeout_s,
            request_timeout_s=settings.request_timeout_s,
        )
        self._model = await self._served_model(client)
        self._server["version"] = await self._server_version(client)
        tokenizer, why_none = load_text_tokenizer(
            config.tokenizer or config.model, trust_remote_code=config.trust_remote_code
        )
        try:
            features = await probe_features(
                client,
                self._path,
                model=self._model,
                chat=self._chat,
                prompt_format=settings.prompt_format,
                probe_ids=_probe_ids(tokenizer),
                probe_text=_PROBE_TEXT,
                scrub=self._key.scrub,
            )
        except HttpError as exc:
            url, reason = self._origin.url(self._path), self._key.scrub(str(exc))
            raise EngineStartError(f"POST {url} (a probe) failed: {reason}") from None
        if tokenizer is None and (not features.token_ids or not features.continuous_usage):
            what = "prompts as text" if not features.token_ids else "tokens counted here"
            raise EngineStartError(
                f"the server at {self._origin.url()} needs {what} ({features.token_counts()}), which "
                f"takes the served model's tokenizer, but {why_none}: pass --tokenizer DIR"
            )
        self._features, self._tokenizer = features, tokenizer
        self._options = stream_options(
            include_usage=features.usage != "none", continuous_usage=features.continuous_usage
        )
        await self._open_metrics()

    async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        client, features = self._client, self._features
        if client is None or features is None or self._model is None:
            raise RuntimeError("OpenAIEngine.generate() called before start()")
        chat_history = self._chat and bool(request.messages)
        prompt: list[int] | str = (
            request.prompt_token_ids if features.token_ids or chat_history else self._text(request)
        )
        body = orjson.dumps(
            request_body(
                model=self._model,
                prompt=prompt,
                max_tokens=request.max_tokens,
                chat=self._chat,
                ignore_eos=features.ignore_eos and request.ignore_eos,
                options=self._options,
                messages=self._messages(request) if chat_history else None,
            )
        )
        tokenizer = self._tokenizer
        stream = CompletionStream(
            chat=self._chat,
            continuous_usage=features.continuous_usage,
            count_tokens=tokenizer.count if tokenizer is not None else None,
            keep_text=request.keep_output,
        )
        decoder = SseDecoder()
        first_answer: float | None = None
        try:
            async with client.request("POST", self._path, body) as response:
                if response.status != 200:
                    message = error_text(await response.read())
                    raise StatusError(response.status, self._key.scrub(message))
                while (piece := await response.next_read()) is not None:
                    new_tokens = stream.feed(decoder.feed(piece[1]))
                    if first_answer is None and stream.answer_started:
                        first_answer = piece[0]
                    if new_tokens:
                        yield TokenChunk(piece[0], new_tokens)
        except (StreamCut, RequestTimeout) as exc:
            after = f" after {stream.tokens} of {request.max_tokens} tokens" if stream.tokens else ""
            raise type(exc)(self._key.scrub(f"{exc}{after}")) from None
        except StreamError as exc:
            raise StreamError(self._key.scrub(str(exc))) from None
        if not stream.done and stream.finish_reason is None:
            raise StreamCut(f"the stream ended without [DONE] after {stream.tokens} tokens")
        prompt_tokens = stream.prompt_tokens()
        if prompt_tokens is None:
            prompt_tokens = len(prompt) if isinstance(prompt, list) else self._count(prompt)
        answer = stream.answer_text()
        yield Completion(
            prompt_tokens=prompt_tokens,
            output_tokens=stream.output_tokens(),
            finish_reason=stream.finish_reason,
            output_text=answer,
            # The next turn's flat prompt (completions) needs the answer as tokens of the served model.
            output_token_ids=tokenizer.encode(answer)
            if answer is not None and tokenizer is not None
            else None,
            cached_prompt_tokens=stream.cached_prompt_tokens(),
            first_answer_time=first_answer if self._chat else None,
            reasoning_tokens=stream.reasoning_tokens(),
        )

    def describe(self) -> EngineInfo:
        config, settings = self._config, self._config.openai
        features = self._features
        endpoint = self._origin.url(self._path)
        info: dict[str, Any] = {
            "base_url": self._origin.url(),
            "endpoint": endpoint,
            "server_max_model_len": self._server.get("max_model_len"),
            "prompt_format": None if features is None else ("token ids" if features.token_ids else "text"),
            "ignore_eos": None if features is None else features.ignore_eos,
            "token_counts": None if features is None else features.token_counts(),
            TOKEN_TOTALS: None if features is None else features.token_totals(),
            "sampling": "greedy (temperature 0)",
            "api_key": self._key.describe(),
            "metrics_url": self._metrics_url,
            "connect_timeout_s": settings.connect_timeout_s,
            "read_timeout_s": settings.read_timeout_s,
            "request_timeout_s": settings.request_timeout_s,
            "http_client": f"specbench HTTP/1.1, keep-alive pool (httptools {httptools.__version__})",
        }
        return EngineInfo(
            name="openai",
            version=self._server.get("version"),
            model=self._model or f"served at {self._origin.url()}",
            method=config.method.value,
            settings=info,
            notes=self._notes(),
            # Published for the session's context check, which sees every request of every point.
            max_model_len=self._server.get("max_model_len"),
        )

    async def figures(self) -> dict[str, Any]:
        if self._baseline is None:
            return {}
        after = await self._snapshot()
        if after is None:
            return {}
        figures = run_stats(self._baseline, after, None)
        figures.pop("peak_kv_cache_usage", None)  # a peak needs every engine step, which HTTP does not see
        return figures

    async def reset_figures(self) -> None:
        if self._metrics_client is not None:
            self._baseline = await self._snapshot()

    @property
    def connections_opened(self) -> int:
        """Connections opened to the API so far: kept alive, about the peak number of requests in flight."""
        return self._client.connections_opened if self._client is not None else 0

    async def shutdown(self) -> None:
        for client in (self._client, self._metrics_client):
            if client is not None:
                await client.close()
        self._client = self._metrics_client = None

    # start-up steps

    def _not_an_api_hint(self) -> str:
        """What to check when --base-url answers but not as an OpenAI-compatible API would."""
        if self._origin.url().rstrip("/").endswith("/v1"):
            return (
                "is another web server listening there? pass the --base-url of an OpenAI-compatible server "
                "(vllm serve, SGLang, TGI), e.g. http://HOST:PORT/v1"
            )
        return "check that --base-url ends with the API root (e.g. /v1), or pass --served-model-name"

    async def _served_model(self, client: HttpClient) -> str:
        url = self._origin.url("/models")
        try:
            status, data = await client.get("/models")
        except HttpError as exc:
            raise EngineStartError(
                f"cannot reach the server at {self._origin.url()}: {self._key.scrub(str(exc))}; start it "
                "(e.g. vllm serve MODEL) or pass --base-url http://HOST:PORT/v1"
            ) from None
        wanted = self._config.openai.served_model_name
        if status != 200:
            message = self._key.scrub(error_text(data))
            if status in (401, 403):
                raise EngineStartError(
                    f"GET {url}: HTTP {status}: {message} (the server wants a key: pass --api-key-env NAME, "
                    "the variable that holds it)"
                )
            if wanted is not None and html_page(data) is None:
                return wanted  # some servers list no models; the name given is used as it is
            raise EngineStartError(f"GET {url}: HTTP {status}: {message}; {self._not_an_api_hint()}")
        if html_page(data) is not None:
            raise EngineStartError(f"GET {url} answered with {error_text(data)}; {self._not_an_api_hint()}")
        models = _listed_models(data)
        if wanted is None and not models:
            raise EngineStartError(f"GET {url} lists no models: pass --served-model-name")
        name = wanted or next(iter(models))
        if wanted is not None and models and wanted not in models:
            raise EngineStartError(
                f"--served-model-name {wanted}: the server serves {', '.join(models)}; pass one of those"
            )
        self._server["max_model_len"] = models.get(name)
        self._server["models_listed"] = len(models)
        return name

    async def _server_version(self, client: HttpClient) -> str | None:
        """vLLM's GET /version at the server root; None where the server has no such route."""
        with contextlib.suppress(HttpError):
            status, data = await client.get("/version", absolute=True)
            if status == 200:
                with contextlib.suppress(orjson.JSONDecodeError):
                    body = orjson.loads(data)
                    if isinstance(body, dict) and isinstance(body.get("version"), str):
                        return str(body["version"])
        return None

    async def _open_metrics(self) -> None:
        if self._metrics_url is None:
            self._metrics_note = (
                "--metrics-url none: no engine-side figures (spec decode, prefix cache, queue time)"
            )
            return
        settings = self._config.openai
        self._metrics_client = HttpClient(
            Origin.from_url(self._metrics_url),
            headers={"User-Agent": f"specbench/{__version__}"},
            connect_timeout_s=settings.connect_timeout_s,
            read_timeout_s=settings.read_timeout_s,
            request_timeout_s=None,
        )
        try:
            snapshot = await self._snapshot(raise_errors=True)
        except (HttpError, MetricsFormatError) as exc:
            await self._metrics_client.close()
            self._metrics_client = None
            self._metrics_note = (
                f"no Prometheus metrics at {self._metrics_url} ({one_line(str(exc), 120)}): no engine-side "
                "figures (spec decode, prefix cache, queue time)"
            )
            return
        if snapshot is not None and not snapshot.counters:
            self._metrics_note = (
                f"{self._metrics_url} has no vllm:* counters for {self._model}: engine-side figures come "
                "from vLLM servers only"
            )
        self._baseline = snapshot  # figures() before any reset_figures() cover everything since start
        self._spec_on_server = snapshot is not None and any(
            name.startswith("vllm:spec_decode_") for name in snapshot.counters
        )

    async def _snapshot(self, *, raise_errors: bool = False) -> MetricsSnapshot | None:
        client = self._metrics_client
        if client is None:
            return None
        try:
            status, data = await client.get("")
            if status != 200:
                raise HttpError(f"HTTP {status}")
            families = parse_families(data.decode("utf-8", "replace"))
        except (HttpError, MetricsFormatError):
            if raise_errors:
                raise
            return None
        return MetricsSnapshot.from_families(families, labels={"model_name": self._model or ""})

    # per request

    def _text(self, request: EngineRequest) -> str:
        if request.prompt_text is not None:
            return request.prompt_text
        assert self._tokenizer is not None  # start() makes sure of it when prompts go as text
        return self._tokenizer.decode(request.prompt_token_ids)

    def _messages(self, request: EngineRequest) -> list[dict[str, str]]:
        """A conversation's history as chat messages, each text decoded where only its ids are known."""
        messages = []
        for message in request.messages:
            text = message.text
            if text is None:
                assert self._tokenizer is not None  # start() makes sure of it when prompts go as text
                text = self._tokenizer.decode(message.token_ids)
            messages.append({"role": message.role, "content": text})
        return messages

    def _count(self, text: str) -> int:
        return self._tokenizer.count(text) if self._tokenizer is not None else 0

    def _notes(self) -> list[str]:
        config = self._config
        notes = []
        if config.method is not Method.target_ar:
            notes.append(
                f"--method {config.method.value} only labels this run: the server decides how it decodes"
            )
        if self._spec_on_server:
            notes.append("the server runs speculative decoding (vllm:spec_decode_* counters on its /metrics)")
        if self._chat:
            notes.append(
                "chat: the server's chat template adds tokens to every prompt; input tokens are the "
                "server's count"
            )
        elif self._features is not None and not self._features.token_ids:
            notes.append(
                "prompts sent as text: the server re-tokenizes them, so input lengths can differ from the "
                "planned ones by a few tokens; input tokens are the server's count"
            )
        if self._features is not None and self._features.usage == "none":
            notes.append(
                "the server reports no usage: output tokens are counted by re-tokenizing the streamed text, "
                "which is not exact where text does not round-trip through the tokenizer"
            )
        if self._features is not None and not self._features.ignore_eos:
            notes.append(
                "the server refused ignore_eos: a request may end before its output length (see "
                "finish_reason)"
            )
        if self._server.get("models_listed", 0) > 1 and config.openai.served_model_name is None:
            notes.append(
                f"the server lists several models; measuring {self._model} (pass --served-model-name)"
            )
        if self._metrics_note:
            notes.append(self._metrics_note)
        elif self._metrics_client is not None:
            notes.append(
                "engine-side figures are the server's /metrics counters over the measured window: "
                "requests from other clients meanwhile would count too"
            )
        return notes


def _probe_ids(tokenizer: TextTokenizer | None) -> tuple[int, ...]:
    ids = tuple(tokenizer.encode(_PROBE_TEXT)) if tokenizer is not None else ()
    return ids or _PROBE_IDS_WITHOUT_TOKENIZER


def _metrics_url(setting: str | None, origin: Origin) -> str | None:
    if setting == "none":
        return None
    return setting or f"{origin.root}/metrics"


def _listed_models(data: bytes) -> dict[str, int | None]:
    """Model ids from GET /v1/models, each with its max_model_len where the server says (vLLM does)."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    entries = body.get("data") if isinstance(body, dict) else None
    models: dict[str, int | None] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            length = entry.get("max_model_len")
            models[entry["id"]] = length if isinstance(length, int) else None
    return models


def _raise_open_file_limit() -> None:
    """One connection per request in flight: lift the soft limit on open files to the hard one, as vllm
    serve does, so a high concurrency does not fail on 'too many open files'."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
