"""What the server accepts and reports, found by asking it once before anything is measured.

One short streamed request with everything vLLM understands — the prompt as token ids, `ignore_eos`,
usage in every chunk — and, when the server refuses it (HTTP 400/422, as OpenAI's own API does for
parameters it does not know; vLLM also answers 200 with an error event in the stream), again without what
its message names, until it answers. A refusal that names nothing that was asked for fails the start with
the server's own words: dropping a feature the server did not blame (usage, say, for a prompt it did not
like) would silently change how every request is counted. What the server answered with decides how
every measured request is sent and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import orjson

from specbench.engines.openai.connection import HttpClient
from specbench.engines.openai.sse import SseDecoder, event_data
from specbench.engines.openai.stream import error_message, error_text, one_line
from specbench.errors import EngineStartError
from specbench.metrics.token_counts import SERVER_USAGE, TOKENIZER

Usage = Literal["continuous", "final", "none"]
_PROBE_TOKENS = 4
_REFUSED = (400, 422)
# What a refusal must name for the probe to stop asking for a feature, in the order they are tried.
_NAMED = (
    ("ignore_eos", "ignore_eos"),
    ("continuous_usage", "continuous_usage_stats"),
    ("token_ids", "prompt"),
    ("include_usage", "stream_options"),
)


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

    def token_totals(self) -> str:
        """Where each request's total comes from: the server's usage, or the tokenizer as a last resort."""
        return TOKENIZER if self.usage == "none" else SERVER_USAGE


@dataclass(frozen=True, slots=True)
class _Ask:
    """What a request asks of the server; probing drops what the server refuses."""

    token_ids: bool
    ignore_eos: bool = True
    continuous_usage: bool = True
    include_usage: bool = True

    def drop(self, message: str) -> _Ask | None:
        """What to stop asking for after a refusal with `message`: the first thing asked for that the
        message names; None where it names nothing asked for (the refusal is about something else)."""
        lowered = message.lower()
        for field_name, word in _NAMED:
            if getattr(self, field_name) and word in lowered:
                return self._without(field_name)
        return None

    def asked(self) -> str:
        """What this request asks for beyond a plain streamed completion, in words."""
        parts = [
            "the prompt as token ids" if self.token_ids else "the prompt as text",
            *(["ignore_eos"] if self.ignore_eos else []),
            *(["usage in every chunk"] if self.continuous_usage else []),
            *(["usage at the end"] if self.include_usage and not self.continuous_usage else []),
        ]
        return ", ".join(parts)

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
    """Ask once with everything, then without what each refusal names; raise EngineStartError for a refusal
    that names nothing asked for, or an answer that is not a stream."""
    ask = _Ask(token_ids=not chat and prompt_format != "text")
    url = client.origin.url(path)
    while True:
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
            refusal = stream_refusal(data)
            if refusal is None:
                return ServerFeatures(
                    token_ids=ask.token_ids, ignore_eos=ask.ignore_eos, usage=_usage_seen(data)
                )
            status, message = refusal[0] or _REFUSED[0], scrub(refusal[1])
        else:
            message = scrub(error_text(data))
        if status not in _REFUSED:
            raise EngineStartError(f"POST {url}: HTTP {status}: {message}{_hint(status)}")
        fewer = ask.drop(message)
        if fewer is None:
            raise EngineStartError(
                f"POST {url} refused the start-up probe: HTTP {status}: {message} (it asked for "
                f"{ask.asked()}; the refusal names none of them){_vocabulary_hint(message)}"
            )
        if prompt_format == "token-ids" and not fewer.token_ids:
            raise EngineStartError(
                f"POST {url} refuses prompts as token ids ({message}): use --prompt-format text or auto"
            )
        ask = fewer


def stream_refusal(data: bytes) -> tuple[int | None, str] | None:
    """The error a 200 stream carries instead of tokens (vLLM answers an out-of-vocabulary prompt so), as
    (the status its body names, its message); None for a stream without an error event."""
    for chunk in _json_chunks(data):
        if "error" in chunk or chunk.get("object") == "error":
            error = chunk.get("error")
            code = error.get("code") if isinstance(error, dict) else chunk.get("code")
            message = error_message(chunk) or "(no message)"
            return (code if isinstance(code, int) else None), one_line(message)
    return None


def _json_chunks(data: bytes) -> Iterator[dict[str, Any]]:
    """The JSON objects of a whole SSE answer (the probe's), [DONE] and anything unreadable left out."""
    for event in SseDecoder().feed(data + b"\n\n"):
        payload = event_data(event)
        if payload is None or payload == b"[DONE]":
            continue
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            continue
        if isinstance(chunk, dict):
            yield chunk


def _vocabulary_hint(message: str) -> str:
    if "vocab" in message.lower():
        return (
            ": the probe's prompt is the tokenizer's encoding of a short text; pass the served model's "
            "tokenizer with --tokenizer DIR"
        )
    return ""


def _usage_seen(data: bytes) -> Usage:
    """Whether the probe's answer carried usage in its token chunks, only at the end, or not at all."""
    usage: Usage = "none"
    for chunk in _json_chunks(data):
        if not chunk.get("usage"):
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
