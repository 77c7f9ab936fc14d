"""What the chunks of one streamed completion say: how many tokens each brought, how it finished, its usage.

Token counts come from the server where it gives them: with `stream_options.continuous_usage_stats`
(vLLM) every chunk carries the running `usage.completion_tokens`, so a chunk of several tokens (speculative
decoding, a busy server's coalesced output) counts them all exactly. Without it, each chunk's text is
counted with the model's tokenizer, and the final `usage` (`include_usage`) still gives the exact total.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from specbench.engines.openai.sse import event_data

TokenCount = Callable[[str], int]


class StreamError(Exception):
    """The server reported an error inside a stream, or sent something that is not a completion chunk."""


def error_message(body: Any) -> str | None:
    """The message of an OpenAI-style error body: {"error": {"message"}}, {"message"} or {"detail"}."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        return str(message) if message is not None else None
    if isinstance(error, str):
        return error
    for key in ("message", "detail"):
        if body.get(key) is not None:
            return str(body[key])
    return None


def error_text(data: bytes) -> str:
    """What an error response says, as one line: its message where it is OpenAI-style JSON, else its text."""
    try:
        message = error_message(orjson.loads(data))
    except orjson.JSONDecodeError:
        message = None
    if message is None and (page := html_page(data)) is not None:
        return page  # another web server's page: its name, never its whole markup
    return one_line(message if message is not None else data.decode("utf-8", "replace")) or "(no message)"


def html_page(data: bytes) -> str | None:
    """'an HTML page titled "404 Not Found"' for an HTML body, else None."""
    head = data[:4096].decode("utf-8", "replace")
    if not re.match(r"\s*<(!doctype html|html|head|body|title|h1)\b", head, re.IGNORECASE):
        return None
    title = re.search(r"<title[^>]*>(.*?)</title>", head, re.IGNORECASE | re.DOTALL)
    if title:
        return f'an HTML page titled "{one_line(title.group(1), 80)}"'
    words = one_line(re.sub(r"<[^>]*>", " ", head), 80)  # the page's words without its markup
    return f'an HTML page saying "{words}"' if words else "an HTML page"


def one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class CompletionStream:
    """The running state of one streamed /v1/completions or /v1/chat/completions answer."""

    __slots__ = (
        "_answer",
        "_chat",
        "_continuous",
        "_count",
        "_keep",
        "_reasoning",
        "_texts",
        "answer_started",
        "done",
        "finish_reason",
        "tokens",
        "usage",
    )

    def __init__(
        self, *, chat: bool, continuous_usage: bool, count_tokens: TokenCount | None, keep_text: bool = False
    ) -> None:
        self._chat = chat
        self._continuous = continuous_usage
        self._count = count_tokens
        self._keep = keep_text  # a conversation's next turn needs the answer's text
        self._texts: list[str] = []
        self._answer: list[str] = []
        self._reasoning: int | None = None  # reasoning tokens seen before the answer began
        self.answer_started = False  # chat: the first answer (not reasoning) text arrived
        self.tokens = 0  # output tokens seen so far
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.done = False  # data: [DONE] arrived

    def feed(self, events: list[bytes]) -> int:
        """Take newly arrived events (SseDecoder.feed); returns how many output tokens they brought.

        With usage in every chunk only the last events of a read are parsed: the final usage chunk (or
        the last token chunk) holds the running count and the finish reason, and an error event is always
        the last before [DONE]. Reads of a busy or speculative server hold many events; parsing them all
        would make the client's cost grow with exactly the load it is meant to measure. Only until a chat
        answer's first text (reasoning comes before it), or when the answer is kept, is every event read.
        """
        if not self._continuous:
            return self._feed_all(events)
        if self._keep or (self._chat and not self.answer_started):
            self._scan(events)
        seen = self.tokens
        latest: dict[str, Any] | None = None
        for event in reversed(events):
            chunk = self._parse(event)
            if chunk is None:
                continue
            usage = chunk.get("usage")
            if usage and latest is None:
                latest = usage
            choices = chunk.get("choices")
            if choices:
                reason = choices[0].get("finish_reason")
                if reason is not None and self.finish_reason is None:
                    self.finish_reason = reason
                if usage:
                    break  # the last token chunk: the events before it are older
        if latest is not None:
            self.usage = latest
            self.tokens = max(seen, latest.get("completion_tokens") or 0)
        return self.tokens - seen

    def _feed_all(self, events: list[bytes]) -> int:
        new = 0
        for event in events:
            chunk = self._parse(event)
            if chunk is None:
                continue
            choices = chunk.get("choices")
            if choices:
                choice = choices[0]
                reason = choice.get("finish_reason")
                if reason is not None:
                    self.finish_reason = reason
                new += self._count_text(choice)
            usage = chunk.get("usage")
            if usage:
                self.usage = usage
        self.tokens += new
        return new

    def _parse(self, event: bytes) -> dict[str, Any] | None:
        """One event's JSON chunk; None for [DONE] and events without data; StreamError for an error."""
        payload = event_data(event)
        if payload is None:
            return None
        if payload == b"[DONE]":
            self.done = True
            return None
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise StreamError(f"the server sent an event that is not JSON: {payload[:80]!r}") from None
        if type(chunk) is not dict:
            raise StreamError(f"the server sent an event that is not a JSON object: {payload[:80]!r}")
        if "error" in chunk or chunk.get("object") == "error":
            raise StreamError(f"the server reported an error mid-stream: {error_message(chunk)}")
        return chunk

    def _scan(self, events: list[bytes]) -> None:
        """Usage in every chunk: where reasoning ends and the answer starts; the answer's text where kept."""
        for event in events:
            chunk = self._parse(event)
            choices = chunk.get("choices") if chunk is not None else None
            if not choices:
                continue
            thinking, answer = self._parts(choices[0])
            if thinking and not self.answer_started:
                usage = chunk.get("usage") if chunk is not None else None
                done = usage.get("completion_tokens") if isinstance(usage, dict) else None
                self._reasoning = done if isinstance(done, int) else self._reasoning
            if answer:
                self.answer_started = True
                if self._keep:
                    self._answer.append(answer)

    def _parts(self, choice: dict[str, Any]) -> tuple[str, str]:
        """(reasoning text, answer text) of one choice; reasoning models stream their thinking apart."""
        if not self._chat:
            return "", choice.get("text") or ""
        delta = choice.get("delta") or {}
        thinking = "".join(
            part for part in (delta.get("reasoning_content"), delta.get("reasoning")) if isinstance(part, str)
        )
        content = delta.get("content")
        return thinking, content if isinstance(content, str) else ""

    def _count_text(self, choice: dict[str, Any]) -> int:
        thinking, answer = self._parts(choice)
        if answer:
            self.answer_started = True
            if self._keep:
                self._answer.append(answer)
        text = thinking + answer
        if not text:
            return 0
        self._texts.append(text)
        assert self._count is not None, "a tokenizer is needed where the server gives no usage per chunk"
        if thinking and not answer:
            count = self._count(text)
            self._reasoning = (self._reasoning or 0) + count
            return count
        return self._count(text)

    def answer_text(self) -> str | None:
        """The answer (reasoning left out) where it was kept."""
        return "".join(self._answer) if self._keep else None

    def reasoning_tokens(self) -> int | None:
        """Reasoning tokens: the server's usage details where given, else those counted before the answer;
        None where no reasoning was seen."""
        details = self.usage.get("completion_tokens_details") if self.usage is not None else None
        if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int):
            return int(details["reasoning_tokens"])
        return self._reasoning

    def output_tokens(self) -> int:
        """The exact total where the server gave usage; else the tokenizer's count of the whole text."""
        if self.usage is not None and isinstance(self.usage.get("completion_tokens"), int):
            return int(self.usage["completion_tokens"])
        if self._continuous or self._count is None:
            return self.tokens
        return self._count("".join(self._texts))

    def cached_prompt_tokens(self) -> int | None:
        """usage.prompt_tokens_details.cached_tokens (vllm serve --enable-prompt-tokens-details)."""
        details = self.usage.get("prompt_tokens_details") if self.usage is not None else None
        if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
            return int(details["cached_tokens"])
        return None

    def prompt_tokens(self) -> int | None:
        if self.usage is not None and isinstance(self.usage.get("prompt_tokens"), int):
            return int(self.usage["prompt_tokens"])
        return None
