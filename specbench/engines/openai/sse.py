"""Server-sent events: the data of each complete event in a byte stream that arrives in arbitrary pieces."""

from __future__ import annotations


class SseDecoder:
    """Feed it the body as it arrives; it returns the `data` of every event completed so far.

    The common case of OpenAI-compatible servers — events of one `data: …` line ended by a blank line —
    costs one split per read and one slice per event; anything else (several data lines, comments such
    as keep-alive pings, `event:` or `id:` fields, CRLF line ends) takes the general path.
    """

    __slots__ = ("_tail",)

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, data: bytes) -> list[bytes]:
        if self._tail:
            data = self._tail + data
        if b"\r" in data:
            # A CR split from its LF stays in the tail until the LF comes.
            data = data.replace(b"\r\n", b"\n")
        end = data.rfind(b"\n\n")
        if end < 0:
            self._tail = data
            return []
        self._tail = data[end + 2 :]
        payloads = []
        for event in data[:end].split(b"\n\n"):
            if event[:6] == b"data: " and b"\n" not in event:
                payloads.append(event[6:])
            elif event:
                payload = _general(event)
                if payload is not None:
                    payloads.append(payload)
        return payloads

    @property
    def pending(self) -> bytes:
        """Bytes of an event not yet complete (what a cut stream left unfinished)."""
        return self._tail


def _general(event: bytes) -> bytes | None:
    """The data of one event per the SSE spec: data lines joined by newlines; None if it has none."""
    lines = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:]
            lines.append(value[1:] if value[:1] == b" " else value)
    return b"\n".join(lines) if lines else None
