"""What the server accepts and reports, found by asking it once before anything is measured.

One short streamed request with everything vLLM understands — the prompt as token ids, `ignore_eos`,
usage in every chunk — and, when the server refuses it (HTTP 400/422, as OpenAI's own API does for
parameters it does not know), again without what its message names (or the next extra, in order), until
it answers. What it answered with decides how every measured request is sent and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import orjson

from specbench.engines.openai.connection import HttpClient
from specbench.engines.openai.sse import SseDecoder, event_data
from specbench.engines.openai.stream import error_text
from specbench.errors import EngineStartError

Usage = Literal["continuous", "final", "none"]
_PROBE_TOKENS = 4
_REFUSED = (400, 422)


@dataclass(frozen=True, slots=True)
class ServerFeatures:
    token_ids: bool  # prompts as lists of token ids (/v1/completions)
    ignore_eos: bool  # `ignore_eos` accepted
    usage: Usage  # usage in every chunk, only at the end, or never

    @property
    def continuous_usage(self) -> bool:
        return self.usage == "continuous"

    def token_counts(self) -> str:
        """Where token counts come from, in words for the result header."""
        if self.usage == "continuous":
            return "server usage, every chunk (continuous_usage_stats)"
        if self.usage == "final":
            return "tokenizer per chunk, server usage for each request's totals"
        return "tokenizer (the server reports no usage)"


@dataclass(frozen=True, slots=True)
class _Ask:
    """What a request asks of the server; probing drops what the server refuses."""

    token_ids: bool
    ignore_eos: bool = True
    continuous_usage: bool = True
    include_usage: bool = True

    def drop(self, message: str) -> _Ask | None:
        """The next thing to stop asking for after a refusal with `message`, or None if nothing is left."""
        lowered = message.lower()
        named = [
            ("ignore_eos", "ignore_eos"),
            ("continuous_usage", "continuous_usage_stats"),
            ("token_ids", "prompt"),
            ("include_usage", "stream_options"),
        ]
        for field_name, word in named:
            if getattr(self, field_name) and word in lowered:
                return self._without(field_name)
        for field_name in ("continuous_usage", "ignore_eos", "token_ids", "include_usage"):
            if getattr(self, field_name):
                return self._without(field_name)
        return None

    def _without(self, field_name: str) -> _Ask:
        if field_name == "include_usage":
            return replace(self, include_usage=False, continuous_usage=False)
        return replace(self, **{field_name: False})


def stream_options(*, include_usage: bool, continuous_usage: bool) -> dict[str, bool] | None:
    if not include_usage:
        return None
    options = {"include_usage": True}
    if continuous_usage:
        options["continuous_usage_stats"] = True
    return options


def request_body(
    *,
    model: str,
    prompt: Sequence[int] | str,
    max_tokens: int,
    chat: bool,
    ignore_eos: bool,
    options: dict[str, bool] | None,
    messages: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A greedy, streamed request with `max_tokens`; EOS ignored where `ignore_eos`. Chat sends `messages`
    where given (a conversation's history), else the prompt as one user message."""
    body: dict[str, Any] = {"model": model}
    if chat:
        body["messages"] = messages if messages is not None else [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    body["max_tokens"] = max_tokens
    body["temperature"] = 0.0
    body["stream"] = True
    if options is not None:
        body["stream_options"] = options
    if ignore_eos:
        body["ignore_eos"] = True
    return body


async def probe_features(
    client: HttpClient,
    path: str,
    *,
    model: str,
    chat: bool,
    prompt_format: str,
    probe_ids: Sequence[int],
    probe_text: str,
    scrub: Callable[[str], str],
) -> ServerFeatures:
    """Ask once with everything, then without what the server refuses; raise EngineStartError if it never
    answers with a stream."""
    ask: _Ask | None = _Ask(token_ids=not chat and prompt_format != "text")
    last = ""
    url = client.origin.url(path)
    while ask is not None:
        body = request_body(
            model=model,
            prompt=list(probe_ids) if ask.token_ids else probe_text,
            max_tokens=_PROBE_TOKENS,
            chat=chat,
            ignore_eos=ask.ignore_eos,
            options=stream_options(include_usage=ask.include_usage, continuous_usage=ask.continuous_usage),
        )
        async with client.request("POST", path, orjson.dumps(body)) as response:
            status, content_type = response.status, response.header("content-type")
            data = await response.read()
        if status == 200:
            if "text/event-stream" not in content_type:
                raise EngineStartError(
                    f"POST {url} answered with {content_type or 'no content type'}, not a stream of events: "
                    "time to first token cannot be measured against it"
                )
            return ServerFeatures(token_ids=ask.token_ids, ignore_eos=ask.ignore_eos, usage=_usage_seen(data))
        message = scrub(error_text(data))
        if status not in _REFUSED:
            raise EngineStartError(f"POST {url}: HTTP {status}: {message}{_hint(status)}")
        ask = ask.drop(message)
        if prompt_format == "token-ids" and (ask is None or not ask.token_ids):
            raise EngineStartError(
                f"POST {url} refuses prompts as token ids ({message}): use --prompt-format text or auto"
            )
        last = f"HTTP {status}: {message}"
    raise EngineStartError(
        f"POST {url}: {last} (asked for a streamed answer with and without token-id prompts, ignore_eos and "
        "usage in every chunk)"
    )


def _usage_seen(data: bytes) -> Usage:
    """Whether the probe's answer carried usage in its token chunks, only at the end, or not at all."""
    usage: Usage = "none"
    for event in SseDecoder().feed(data + b"\n\n"):
        payload = event_data(event)
        if payload is None or payload == b"[DONE]":
            continue
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(chunk, dict) or not chunk.get("usage"):
            continue
        # A token chunk (it has choices; the closing usage chunk has none) that counts tokens: usage comes
        # with every chunk. Its text may be empty: a server started without a tokenizer streams no text.
        if chunk.get("choices") and (chunk["usage"].get("completion_tokens") or 0) > 0:
            return "continuous"
        usage = "final"
    return usage


def _hint(status: int) -> str:
    if status in (401, 403):
        return " (check the key: --api-key-env NAME names the variable that holds it)"
    if status == 404:
        return " (check --base-url: it should end with the API root, e.g. /v1, and --served-model-name)"
    return ""
