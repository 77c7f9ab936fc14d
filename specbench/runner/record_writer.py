"""Per-request records appended to a JSONL file as requests finish, so a crash loses nothing."""

from __future__ import annotations

import contextlib
import errno
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from specbench.errors import SpecbenchError
from specbench.records import RequestRecord

try:  # several times faster than json on the long per-token lists
    import orjson
except ImportError:  # pragma: no cover - orjson is optional (specbench[fast])
    orjson = None

_FIELDS = tuple(f.name for f in fields(RequestRecord))
# The derived figures RequestRecord.to_json_dict() adds; a unit test keeps the two rows identical.
_DERIVED = ("ttft_ms", "ttfat_ms", "tpot_ms", "e2el_ms", "dispatch_lag_ms", "client_queue_ms")
# Records handed to the file thread at once, at the latest.
_BATCH_BYTES = 256 * 1024


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
    """Encodes each record as it comes and hands batches to a file thread at least every `flush_every_s`.

    The event loop never waits on the disk: a write() syscall can block for milliseconds when other
    processes load the disk, which would show up as dispatch lag. The file thread holds the only
    reference to the file; an error there (disk full) is raised by close().
    """

    def __init__(self, path: Path, *, flush_every_s: float = 0.5) -> None:
        self.path = path
        self.count = 0
        self._flush_every_s = flush_every_s
        self._last_flush = time.monotonic()
        self._encode = _json_line_encoder()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._batches: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._error: OSError | None = None
        self._closed = False
        self.lost = 0  # records handed to the file thread that are not in the file (a write failed)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered: each batch is written by calls whose bytes are counted, so a failed write can be cut
        # back to the last whole line.
        file = path.open("wb", buffering=0)
        # A daemon, so a writer that is never closed cannot keep the process alive at exit.
        self._thread = threading.Thread(
            target=self._write_batches, args=(file,), name="specbench-records", daemon=True
        )
        self._thread.start()

    def write(self, record: RequestRecord) -> None:
        line = self._encode(_row(record))
        self._pending.append(line)
        self._pending_bytes += len(line)
        self.count += 1
        if self._pending_bytes >= _BATCH_BYTES or time.monotonic() - self._last_flush >= self._flush_every_s:
            self.flush()

    def flush(self) -> None:
        """Hand every record written so far to the file thread; returns at once."""
        self._last_flush = time.monotonic()
        if self._pending and not self._closed:
            self._batches.put(b"".join(self._pending))
            self._pending.clear()
            self._pending_bytes = 0

    def close(self) -> None:
        """Write out everything and close the file; raises SpecbenchError if the file could not be written."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._batches.put(None)
        self._thread.join()
        if self._error is not None:
            reason = self._error.strerror or str(self._error)
            raise SpecbenchError(
                f"could not write the per-request records to {self.path}: {reason} ({self.count - self.lost} "
                f"of {self.count} records are in the file)"
            )

    def _write_batches(self, file: BinaryIO) -> None:
        whole = 0  # bytes of the file that end a record: after a failed write the file is cut back to them
        try:
            while (batch := self._batches.get()) is not None:
                if self._error is not None:
                    self.lost += batch.count(b"\n")  # keep draining so close() does not hang
                    continue
                try:
                    _write_all(file, batch)
                    whole += len(batch)
                except OSError as exc:
                    self._error = exc
                    self.lost += batch.count(b"\n")
                    # A full disk may take part of a batch: never leave a half line at the end.
                    with contextlib.suppress(OSError):
                        file.truncate(whole)
        finally:
            try:
                file.close()
            except OSError as exc:
                self._error = self._error or exc

    def __enter__(self) -> JsonlRecordWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _write_all(file: BinaryIO, data: bytes) -> None:
    """Every byte of `data`, however many write calls it takes (an unbuffered write may take part)."""
    view = memoryview(data)
    while view:
        written = file.write(view)
        if not written:
            raise OSError(errno.EIO, "the file took no bytes")
        view = view[written:]


def read_records(path: Path) -> list[RequestRecord]:
    """Load the per-request records written by JsonlRecordWriter."""
    loads: Callable[[bytes], Any] = orjson.loads if orjson is not None else json.loads
    with path.open("rb") as handle:
        return [RequestRecord.from_json_dict(loads(line)) for line in handle if line.strip()]
