"""Trace replay: requests at a recorded trace's timestamps with its input and output lengths.

Three layouts, checked against their published files (docs/WORKLOADS.md):
- Mooncake (kvcache-ai/Mooncake, FAST25-release/traces/*.jsonl): one JSON object a line with `timestamp`
  (ms), `input_length`, `output_length` and `hash_ids`, the remapped hashes of the prompt's 512-token
  blocks; two requests with the same hash id share that block, so their prompts share that prefix.
- Azure LLM inference trace 2023/2024 (Azure/AzurePublicDataset, AzureLLMInferenceTrace_*.csv): CSV with
  `TIMESTAMP` (wall-clock time, 100 ns digits), `ContextTokens` and `GeneratedTokens`.
- plain JSONL: `timestamp_s`, `input_len`, `output_len`.
Prompts are random ordinary tokens of exactly the given lengths (the traces carry no text); Mooncake's
shared blocks become the same random tokens wherever their hash id appears.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from specbench.errors import ConfigError
from specbench.workload.json_lines import json_lines
from specbench.workload.prompts import Prompt
from specbench.workload.tokenizer import PromptTokenizer

TraceFormat = Literal["mooncake", "azure", "jsonl"]
# Mooncake's hash ids name blocks of this many prompt tokens (ceil(input_length / 512) ids a request).
MOONCAKE_BLOCK_TOKENS = 512
_AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


@dataclass(frozen=True, slots=True)
class TraceEntry:
    time_s: float  # seconds after the trace's first request
    input_len: int
    output_len: int
    hash_ids: tuple[int, ...] = ()  # Mooncake: the prompt's shared blocks, in order


@dataclass(frozen=True, slots=True)
class Trace:
    path: str
    format: TraceFormat
    entries: tuple[TraceEntry, ...]

    @property
    def shares_blocks(self) -> bool:
        return any(entry.hash_ids for entry in self.entries)


def read_trace(path_text: str, trace_format: str = "auto") -> Trace:
    """Parse a trace file; its times start at 0 (the first request), in file order sorted by time."""
    path = Path(path_text).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"trace file {path} not found (check --trace)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read trace {path}: {exc}") from None
    fmt = _detect(path, text) if trace_format == "auto" else trace_format
    if fmt == "azure":
        entries = _azure(text, path)
    elif fmt in ("mooncake", "jsonl"):
        entries = _jsonl(text, path, mooncake=fmt == "mooncake")
    else:
        raise ConfigError(f"unknown trace format {trace_format!r}: use auto, mooncake, azure or jsonl")
    if not entries:
        raise ConfigError(f"{path} holds no requests")
    entries.sort(key=lambda e: e.time_s)
    first = entries[0].time_s
    shifted = tuple(TraceEntry(e.time_s - first, e.input_len, e.output_len, e.hash_ids) for e in entries)
    return Trace(path=path_text, format=fmt, entries=shifted)  # type: ignore[arg-type]


def select(
    trace: Trace, *, window: tuple[float | None, float | None], speed: float, rate: float, count: int | None
) -> tuple[list[TraceEntry], float]:
    """The entries to send with their due times, and the speed-up used.

    `window` (trace seconds) takes a slice, shifted to start at its own beginning; a finite `rate` scales
    the slice to that mean rate (a rate axis over a trace), otherwise `speed` does; `count` keeps the first
    so many.
    """
    low, high = window
    chosen = [
        e for e in trace.entries if (low is None or e.time_s >= low) and (high is None or e.time_s < high)
    ]
    if not chosen:
        raise ConfigError(f"--trace-window keeps no request of {trace.path}: widen it")
    if count is not None:
        chosen = chosen[:count]
    start = low if low is not None else 0.0
    span = chosen[-1].time_s - chosen[0].time_s
    if np.isfinite(rate):
        if len(chosen) < 2 or span <= 0:
            raise ConfigError("a trace whose requests all arrive at once has no rate to scale: drop --rate")
        speed = rate / ((len(chosen) - 1) / span)
    due = [TraceEntry((e.time_s - start) / speed, e.input_len, e.output_len, e.hash_ids) for e in chosen]
    return due, speed


def trace_prompts(
    entries: list[TraceEntry], *, tokenizer: PromptTokenizer, rng: np.random.Generator
) -> list[Prompt]:
    """Random prompts of each entry's length; a Mooncake hash id is the same 512 tokens wherever it is."""
    allowed = np.setdiff1d(
        np.arange(tokenizer.vocab_size), np.fromiter(tokenizer.special_ids, dtype=np.int64)
    )
    blocks: dict[int, list[int]] = {}
    prompts = []
    for entry in entries:
        ids: list[int] = []
        for hash_id in entry.hash_ids:
            if len(ids) >= entry.input_len:
                break
            block = blocks.get(hash_id)
            if block is None:
                block = blocks[hash_id] = rng.choice(allowed, size=MOONCAKE_BLOCK_TOKENS).tolist()
            ids += block
        if len(ids) < entry.input_len:
            ids += rng.choice(allowed, size=entry.input_len - len(ids)).tolist()
        prompts.append(Prompt(token_ids=ids[: entry.input_len], output_len=entry.output_len))
    return prompts


def _detect(path: Path, text: str) -> TraceFormat:
    if path.suffix.lower() == ".csv":
        return "azure"
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        record = None
    if isinstance(record, dict) and "input_length" in record:
        return "mooncake"
    if isinstance(record, dict) and "timestamp_s" in record:
        return "jsonl"
    raise ConfigError(f"cannot tell the layout of trace {path}: pass --trace-format mooncake, azure or jsonl")


def _jsonl(text: str, path: Path, *, mooncake: bool) -> list[TraceEntry]:
    keys = (
        ("timestamp", "input_length", "output_length")
        if mooncake
        else ("timestamp_s", "input_len", "output_len")
    )
    scale = 1000.0 if mooncake else 1.0  # Mooncake's timestamps are milliseconds
    entries = []
    for where, record in json_lines(text, path):
        if not isinstance(record, dict) or any(key not in record for key in keys):
            raise ConfigError(f"{where}: needs {', '.join(keys)}")
        time_s = _number(record[keys[0]], where, keys[0]) / scale
        hash_ids = record.get("hash_ids", []) if mooncake else []
        if not isinstance(hash_ids, list) or not all(isinstance(h, int) for h in hash_ids):
            raise ConfigError(f"{where}: hash_ids must be a list of integers")
        entries.append(
            TraceEntry(
                time_s,
                _length(record[keys[1]], where, keys[1]),
                _length(record[keys[2]], where, keys[2]),
                tuple(hash_ids),
            )
        )
    return entries


def _azure(text: str, path: Path) -> list[TraceEntry]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in _AZURE_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise ConfigError(f"{path}: an Azure LLM trace needs the columns {', '.join(_AZURE_COLUMNS)}")
    entries = []
    for line_no, row in enumerate(reader, start=2):
        where = f"{path}:{line_no}"
        try:
            stamp = dt.datetime.fromisoformat(row["TIMESTAMP"].strip())
        except ValueError:
            raise ConfigError(f"{where}: TIMESTAMP {row['TIMESTAMP']!r} is not a date and time") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        entries.append(
            TraceEntry(
                stamp.timestamp(),
                _length(_int(row["ContextTokens"], where), where, "ContextTokens"),
                _length(_int(row["GeneratedTokens"], where), where, "GeneratedTokens"),
            )
        )
    return entries


def _int(text: Any, where: str) -> Any:
    try:
        return int(str(text).strip())
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a whole number of tokens") from None


def _number(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where}: {key} must be a number of at least 0, got {value!r}")
    return float(value)


def _length(value: Any, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: {key} must be a positive whole number of tokens, got {value!r}")
    return value
