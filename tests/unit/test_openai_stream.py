"""Reading OpenAI stream chunks: tokens per read from usage or the tokenizer, finish reason, errors."""

from __future__ import annotations

import orjson
import pytest

from specbench.engines.openai.sse import SseDecoder
from specbench.engines.openai.stream import CompletionStream, StreamError, error_message, error_text


def completion_chunk(text: str, done: int | None, reason: str | None = None) -> bytes:
    chunk: dict = {
        "object": "text_completion",
        "choices": [{"index": 0, "text": text, "finish_reason": reason}],
    }
    if done is not None:
        chunk["usage"] = {"prompt_tokens": 5, "completion_tokens": done, "total_tokens": 5 + done}
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def chat_chunk(delta: dict, done: int | None, reason: str | None = None) -> bytes:
    chunk: dict = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
    }
    if done is not None:
        chunk["usage"] = {"prompt_tokens": 9, "completion_tokens": done, "total_tokens": 9 + done}
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def usage_chunk(done: int, prompt: int = 5) -> bytes:
    usage = {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}
    return b"data: " + orjson.dumps({"choices": [], "usage": usage}) + b"\n\n"


DONE = b"data: [DONE]\n\n"


def feed_reads(stream: CompletionStream, reads: list[bytes]) -> list[int]:
    decoder = SseDecoder()
    return [stream.feed(decoder.feed(read)) for read in reads]


def test_continuous_usage_counts_every_token_of_a_multi_token_chunk() -> None:
    stream = CompletionStream(chat=False, continuous_usage=True, count_tokens=None)
    reads = [completion_chunk("a", 1), completion_chunk("bcd", 4), completion_chunk("e", 5, "length")]
    assert feed_reads(stream, [*reads, usage_chunk(5) + DONE]) == [1, 3, 1, 0]
    assert (stream.output_tokens(), stream.prompt_tokens(), stream.finish_reason, stream.done) == (
        5,
        5,
        "length",
        True,
    )


def test_a_read_holding_many_chunks_brings_all_their_tokens_at_once() -> None:
    stream = CompletionStream(chat=False, continuous_usage=True, count_tokens=None)
    whole = b"".join(completion_chunk("x", n) for n in range(1, 16)) + completion_chunk("x", 16, "length")
    assert feed_reads(stream, [whole + usage_chunk(16) + DONE]) == [16]
    assert stream.finish_reason == "length"


def test_chat_role_chunk_is_no_token() -> None:
    stream = CompletionStream(chat=True, continuous_usage=True, count_tokens=None)
    reads = [chat_chunk({"role": "assistant", "content": ""}, 0), chat_chunk({"content": "hi"}, 1)]
    assert feed_reads(stream, reads) == [0, 1]


def test_without_usage_per_chunk_the_tokenizer_counts_each_chunk_and_usage_gives_the_total() -> None:
    words = lambda text: len(text.split())  # noqa: E731 - a stand-in tokenizer: one token per word
    stream = CompletionStream(chat=True, continuous_usage=False, count_tokens=words)
    reads = [
        chat_chunk({"role": "assistant", "content": ""}, None),
        chat_chunk({"content": "one two"}, None),
        chat_chunk({"reasoning_content": "three"}, None, "stop"),
        usage_chunk(4, prompt=11) + DONE,
    ]
    assert feed_reads(stream, reads) == [0, 2, 1, 0]
    assert (stream.output_tokens(), stream.prompt_tokens(), stream.finish_reason) == (4, 11, "stop")


def test_without_any_usage_the_tokenizer_counts_the_whole_text() -> None:
    stream = CompletionStream(chat=False, continuous_usage=False, count_tokens=lambda t: len(t.split()))
    feed_reads(stream, [completion_chunk("a b", None), completion_chunk(" c", None, "length") + DONE])
    assert (stream.output_tokens(), stream.prompt_tokens()) == (3, None)


@pytest.mark.parametrize("continuous", [True, False])
def test_an_error_event_mid_stream_raises_with_the_servers_message(continuous: bool) -> None:
    stream = CompletionStream(chat=False, continuous_usage=continuous, count_tokens=lambda t: 1)
    error = b'data: {"error": {"message": "engine died", "code": 500}}\n\n'
    with pytest.raises(StreamError, match="engine died"):
        feed_reads(stream, [completion_chunk("a", 1), error + DONE])


def test_an_event_that_is_not_json_raises() -> None:
    stream = CompletionStream(chat=False, continuous_usage=True, count_tokens=None)
    with pytest.raises(StreamError, match="not JSON"):
        feed_reads(stream, [b"data: {oops\n\n"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"message": "too long", "type": "BadRequestError", "code": 400}}, "too long"),
        ({"object": "error", "message": "old vLLM style"}, "old vLLM style"),
        ({"detail": "Not Found"}, "Not Found"),
        ({"error": "plain"}, "plain"),
        ([1, 2], None),
    ],
)
def test_error_messages_are_read_from_every_common_error_body(body: object, message: str | None) -> None:
    assert error_message(body) == message


def test_error_text_is_one_line_and_bounded() -> None:
    # another web server's page is named by its words, never inlined as markup
    assert error_text(b"<html>\n  <b>Bad   Gateway</b>\n</html>") == 'an HTML page saying "Bad Gateway"'
    assert error_text(b"plain\n  text   here") == "plain text here"
    assert len(error_text(b"x" * 1000)) == 300


def test_an_html_error_page_is_named_by_its_title_never_inlined() -> None:
    page = b"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
    assert error_text(page) == 'an HTML page titled "404 Not Found"'
