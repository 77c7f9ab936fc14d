"""Server-sent events: the complete events of a byte stream that arrives in arbitrary pieces.

Splitting is one C call per read; an event's data is taken out only when someone reads it (`event_data`),
so a reader that needs the last events of a read (the running usage count) skips the others for free.
"""

from __future__ import annotations


class SseDecoder:
    """Feed it the body as it arrives; it returns every event completed so far, still unparsed."""

    __slots__ = ("_tail",)

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, data: bytes) -> list[bytes]:
        if self._tail:
            data = self._tail + data
        if b"\r" in data:
            # A CR split from its LF stays in the tail until the LF comes.
            data = data.replace(b"\r\n", b"\n")
        events = data.split(b"\n\n")
        self._tail = events.pop()  # what follows the last blank line: an event still incomplete
        return events

    @property
    def pending(self) -> bytes:
        """Bytes of an event not yet complete (what a cut stream left unfinished)."""
        return self._tail


def event_data(event: bytes) -> bytes | None:
    """The data of one event; None for an event without data (a comment such as a keep-alive ping).

    The common case — one `data: …` line, as OpenAI-compatible servers send — is one slice; otherwise the
    SSE spec's rule: the values of all data lines, joined by newlines (other fields are ignored).
    """
    if event[:6] == b"data: " and b"\n" not in event:
        return event[6:]
    lines = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:]
            lines.append(value[1:] if value[:1] == b" " else value)
    return b"\n".join(lines) if lines else None
