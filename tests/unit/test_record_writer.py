"""The per-request JSONL file: same rows as RequestRecord.to_json_dict(), readable while a run goes on."""

from __future__ import annotations

import errno
import json
import time
from pathlib import Path

import pytest

from specbench.errors import SpecbenchError
from specbench.records import RequestRecord
from specbench.runner import record_writer
from specbench.runner.record_writer import JsonlRecordWriter, read_records


def finished(request_id: int = 0) -> RequestRecord:
    return RequestRecord(
        request_id=request_id,
        scheduled_s=0.5,
        ready_s=0.5004,
        sent_s=0.61,
        prompt_tokens=12,
        expected_output_tokens=3,
        chunk_times_s=[0.7, 0.75, 0.8],
        chunk_tokens=[1, 2, 1],
        end_s=0.81,
        output_tokens=4,
        drafted_tokens=6,
        accepted_tokens=3,
        target_forward_passes=2,
        finish_reason="length",
    )


def failed(request_id: int = 1) -> RequestRecord:
    return RequestRecord(
        request_id=request_id,
        scheduled_s=1.0,
        ready_s=1.0,
        sent_s=1.0,
        prompt_tokens=5,
        expected_output_tokens=8,
        chunk_times_s=[1.2],
        chunk_tokens=[1],
        output_tokens=1,
        error="RuntimeError: engine died",
    )


def test_records_read_back_equal_to_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    with JsonlRecordWriter(path) as writer:
        writer.write(finished())
        writer.write(failed())
    assert writer.count == 2
    assert read_records(path) == [finished(), failed()]


@pytest.mark.parametrize("with_orjson", [True, False])
def test_each_line_is_the_records_to_json_dict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_orjson: bool
) -> None:
    if not with_orjson:
        monkeypatch.setattr(record_writer, "orjson", None)
    path = tmp_path / "requests.jsonl"
    with JsonlRecordWriter(path) as writer:
        writer.write(finished())
        writer.write(failed())
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows == [finished().to_json_dict(), failed().to_json_dict()]
    assert list(rows[0]) == list(finished().to_json_dict())  # same key order too


def read_soon(path: Path, expected: int, timeout_s: float = 5.0) -> list[RequestRecord]:
    """The records on disk once `expected` of them are there (the file thread writes them shortly)."""
    deadline = time.monotonic() + timeout_s
    while len(records := read_records(path)) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return records


def test_records_reach_the_file_before_close_when_the_flush_interval_passes(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    writer = JsonlRecordWriter(path, flush_every_s=0.0)
    writer.write(finished())
    assert read_soon(path, 1) == [finished()]  # a crash now would lose nothing
    writer.close()


def test_records_wait_in_memory_until_flushed(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    writer = JsonlRecordWriter(path, flush_every_s=3600)
    writer.write(finished())
    time.sleep(0.05)
    assert read_records(path) == []  # one batch per interval, not one write per record
    writer.flush()
    assert read_soon(path, 1) == [finished()]
    writer.close()
    writer.close()  # closing twice is harmless
    writer.flush()


def test_a_file_that_cannot_be_written_is_reported_by_close() -> None:
    full = Path("/dev/full")  # every write fails with "No space left on device"
    if not full.exists():
        pytest.skip("needs /dev/full")
    writer = JsonlRecordWriter(full)
    writer.write(finished())
    with pytest.raises(
        SpecbenchError, match=r"could not write the per-request records to /dev/full: No space"
    ):
        writer.close()


def test_writer_creates_missing_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "requests.jsonl"
    with JsonlRecordWriter(path) as writer:
        writer.write(finished())
    assert read_records(path) == [finished()]


def test_reader_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text(json.dumps(finished().to_json_dict()) + "\n\n", encoding="utf-8")
    assert read_records(path) == [finished()]


class FillingFile:
    """A file on a disk that fills after `capacity` bytes: a write takes what fits, then fails (ENOSPC)."""

    def __init__(self, real, capacity: int) -> None:
        self.real, self.capacity = real, capacity

    def write(self, data) -> int:
        room = self.capacity - self.real.tell()
        if room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.real.write(bytes(data[:room]))

    def truncate(self, size: int) -> int:
        return self.real.truncate(size)

    def close(self) -> None:
        self.real.close()


def test_a_disk_that_fills_mid_record_leaves_whole_lines_only_and_close_says_how_many(
    tmp_path: Path, monkeypatch
) -> None:
    line = len(json.dumps(finished().to_json_dict(), separators=(",", ":"))) + 1
    real_open = Path.open

    def filling_open(self: Path, *args, **kwargs):
        return FillingFile(real_open(self, *args, **kwargs), capacity=int(2.5 * line))

    monkeypatch.setattr(Path, "open", filling_open)
    path = tmp_path / "requests.jsonl"
    writer = JsonlRecordWriter(path, flush_every_s=3600)
    for request_id in range(4):
        writer.write(finished(request_id))
        writer.flush()  # one batch per record: the third is cut half-way by the full disk
    with pytest.raises(SpecbenchError, match=r"No space left on device \(2 of 4 records are in the file\)"):
        writer.close()
    monkeypatch.undo()
    assert path.read_bytes().endswith(b"\n")
    assert [record.request_id for record in read_records(path)] == [0, 1]
    assert writer.lost == 2
