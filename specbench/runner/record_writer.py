"""Per-request records appended to a JSONL file as requests finish, so a crash loses nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from types import TracebackType
from typing import Any

from specbench.records import RequestRecord

try:  # several times faster than json on the long per-token lists
    import orjson
except ImportError:  # pragma: no cover - orjson is optional (specbench[fast])
    orjson = None

_FIELDS = tuple(f.name for f in fields(RequestRecord))
# The derived figures RequestRecord.to_json_dict() adds; a unit test keeps the two rows identical.
_DERIVED = ("ttft_ms", "tpot_ms", "e2el_ms", "dispatch_lag_ms", "client_queue_ms")


def _row(record: RequestRecord) -> dict[str, Any]:
    """RequestRecord.to_json_dict() without dataclasses.asdict, which deep-copies every per-token list."""
    row = {name: getattr(record, name) for name in _FIELDS}
    for name in _DERIVED:
        row[name] = getattr(record, name)
    return row


def _json_line_encoder() -> Callable[[dict[str, Any]], bytes]:
    if orjson is not None:
        option = orjson.OPT_APPEND_NEWLINE
        return lambda row: orjson.dumps(row, option=option)
    return lambda row: (json.dumps(row, separators=(",", ":")) + "\n").encode()


class JsonlRecordWriter:
    """Buffered appends, flushed at least every `flush_every_s` and on close.

    Writing and flushing every record would put a syscall on the hot path of every request; a
    short flush interval keeps the window of loss on a hard crash small instead.
    """

    def __init__(self, path: Path, *, flush_every_s: float = 0.5) -> None:
        self.path = path
        self._flush_every_s = flush_every_s
        self._last_flush = time.monotonic()
        self._encode = _json_line_encoder()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("wb")
        self.count = 0

    def write(self, record: RequestRecord) -> None:
        self._file.write(self._encode(_row(record)))
        self.count += 1
        now = time.monotonic()
        if now - self._last_flush >= self._flush_every_s:
            self._file.flush()
            self._last_flush = now

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()
            self._last_flush = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            self._file.close()

    def __enter__(self) -> JsonlRecordWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_records(path: Path) -> list[RequestRecord]:
    """Load the per-request records written by JsonlRecordWriter."""
    loads: Callable[[bytes], Any] = orjson.loads if orjson is not None else json.loads
    with path.open("rb") as handle:
        return [RequestRecord.from_json_dict(loads(line)) for line in handle if line.strip()]
