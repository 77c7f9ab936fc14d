"""The one detector: which tool wrote a JSON document, and the reader that turns it into results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specbench.records import RequestRecord
from specbench.results.load import ResultFileError, is_specbench_result, result_from_json
from specbench.results.model import BenchmarkResult
from specbench.results.readers import aiperf, guidellm, vllm_serve


@dataclass(frozen=True, slots=True)
class ResultFormat:
    name: str  # BenchmarkResult.source_format of what it reads
    description: str  # how the error for an unknown file names it
    matches: Callable[[Any], bool]
    read: Callable[[Any, Path], list[BenchmarkResult]] | None  # None: an index, read through its entries
    kind: Callable[[Any], str | None] = lambda data: None
    records: Callable[[Any], list[RequestRecord] | None] = lambda data: None  # per-request data it carries


def is_index(data: Any) -> bool:
    return isinstance(data, dict) and {"run_id", "kind", "entries"} <= data.keys()


INDEX = ResultFormat("specbench-index", "a specbench index.json", is_index, None)
FORMATS: tuple[ResultFormat, ...] = (
    INDEX,
    ResultFormat(
        "specbench",
        "a specbench result or index.json",
        is_specbench_result,
        lambda data, path: [result_from_json(data, path)],
    ),
    ResultFormat(
        vllm_serve.FORMAT,
        "`vllm bench serve --save-result` JSON",
        vllm_serve.matches,
        vllm_serve.read,
        records=vllm_serve.records,
    ),
    ResultFormat(
        guidellm.FORMAT, "guidellm's benchmarks JSON", guidellm.matches, guidellm.read, guidellm.profile_kind
    ),
    ResultFormat(aiperf.FORMAT, "AIPerf's profile_export_aiperf.json", aiperf.matches, aiperf.read),
)


def expected() -> str:
    *others, last = (fmt.description for fmt in FORMATS if fmt is not INDEX)
    return f"{', '.join(others)} or {last}"


def detect_format(data: Any, path: Path) -> ResultFormat:
    for fmt in FORMATS:
        if fmt.matches(data):
            return fmt
    raise ResultFileError(f"{path} is not a result file specbench reads: expected {expected()}")
