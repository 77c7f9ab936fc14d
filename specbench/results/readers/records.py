"""The per-request records behind a run, for plots: specbench's JSONL file beside the result, or those
its reader took from the file itself (`vllm bench serve --save-detailed`)."""

from __future__ import annotations

import json

from specbench.errors import SpecbenchError
from specbench.records import RequestRecord
from specbench.results.readers.loaded import LoadedRun


class NoRecords(SpecbenchError):
    """A run whose per-request records cannot be had: the message says why, for a note beside the plots."""


def load_records(run: LoadedRun) -> list[RequestRecord]:
    if run.records is not None:
        return run.records
    result = run.result
    if result is None:
        raise NoRecords(f"no result ({run.error})")
    if result.source_format != "specbench":
        raise NoRecords(f"its {result.source_format} file has no per-request timings")
    if not result.run.requests_file:
        raise NoRecords("its result names no per-request records file (run with --no-save-requests)")
    path = run.directory / result.run.requests_file
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise NoRecords(f"cannot read {path}: {exc.strerror or exc}") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(RequestRecord.from_json_dict(json.loads(line)))
        except (json.JSONDecodeError, TypeError) as exc:
            # An interrupted writer may leave its last line cut short; anything else is a broken file.
            if number == len(lines):
                break
            raise NoRecords(f"{path} line {number} is not a request record ({exc})") from None
    return records
