"""SSE decoding: events split across reads in any way come out whole, in order, and only when complete."""

from __future__ import annotations

import pytest

from specbench.engines.openai.sse import SseDecoder, event_data

STREAM = b'data: {"a":1}\n\ndata: {"b":2}\n\n: keep-alive ping\n\ndata: [DONE]\n\n'


def decoded(pieces: list[bytes]) -> list[bytes | None]:
    decoder = SseDecoder()
    return [event_data(event) for piece in pieces for event in decoder.feed(piece)]


def test_events_in_one_read_come_out_in_order_with_comments_as_none() -> None:
    assert decoded([STREAM]) == [b'{"a":1}', b'{"b":2}', None, b"[DONE]"]


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_a_stream_cut_anywhere_into_two_reads_decodes_the_same(cut: int) -> None:
    assert decoded([STREAM[:cut], STREAM[cut:]]) == decoded([STREAM])


def test_one_byte_at_a_time_decodes_the_same() -> None:
    assert decoded([STREAM[i : i + 1] for i in range(len(STREAM))]) == decoded([STREAM])


def test_crlf_line_ends_even_split_between_cr_and_lf_decode_the_same() -> None:
    crlf = STREAM.replace(b"\n", b"\r\n")
    for cut in range(1, len(crlf)):
        assert decoded([crlf[:cut], crlf[cut:]]) == decoded([STREAM])


def test_an_incomplete_event_waits_for_its_blank_line() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b'data: {"a":1}\n') == []
    assert decoder.pending == b'data: {"a":1}\n'
    assert [event_data(e) for e in decoder.feed(b"\n")] == [b'{"a":1}']


def test_several_data_lines_join_with_newlines_and_other_fields_are_ignored() -> None:
    event = b"event: message\nid: 7\ndata: first\ndata:second\nretry: 10"
    assert event_data(event) == b"first\nsecond"
