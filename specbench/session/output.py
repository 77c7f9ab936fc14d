"""The files of each measured point: names, the per-request file opened before measuring, the result saved
with a fallback, and the index that ties the points of one invocation together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from specbench.config import EngineName, RunConfig
from specbench.errors import ConfigError, SpecbenchError
from specbench.results.files import (
    check_writable,
    default_result_name,
    fallback_path,
    requests_path,
    set_aside_previous,
    to_json_text,
    write_json_atomic,
)
from specbench.results.model import BenchmarkResult
from specbench.runner.record_writer import JsonlRecordWriter
from specbench.session.point import PointFiles
from specbench.settings import describe_value


@dataclass(slots=True)
class PointOutput:
    """The files one point writes, opened (and so checked) before the engine starts."""

    files: PointFiles
    writer: JsonlRecordWriter | None

    @classmethod
    def open(cls, path: Path, *, save_requests: bool, console: Console) -> PointOutput:
        check_writable(path.parent)
        kept = set_aside_previous(path)
        if kept is not None:
            console.print(f"An earlier result at {escape(str(path))} was kept as {escape(kept.name)}")
        records = requests_path(path) if save_requests else None
        try:
            writer = JsonlRecordWriter(records) if records is not None else None
        except OSError as exc:
            raise ConfigError(
                f"cannot write {records}: {exc.strerror or exc}; pass another --output"
            ) from None
        return cls(PointFiles(result=path, requests=records), writer)

    def close_records(self) -> str | None:
        """Close the per-request file; a write error is returned as one line, never raised."""
        if self.writer is None:
            return None
        try:
            self.writer.close()
        except SpecbenchError as exc:
            return str(exc)
        return None


def save_result(result: BenchmarkResult, path: Path, console: Console) -> tuple[Path | None, str | None]:
    """Write the result; where its path fails, to a fallback it names; failing that, print it.

    Returns where it went (None: printed) and, if not to `path`, the one-line problem.
    """
    data = result.to_json_dict()
    try:
        write_json_atomic(path, data)
        return path, None
    except OSError as exc:
        reason = exc.strerror or str(exc)
    fallback = fallback_path(path)
    try:
        write_json_atomic(fallback, data)
    except OSError:
        console.print(to_json_text(data), markup=False, highlight=False, soft_wrap=True)
        return (
            None,
            f"could not write the result to {path} ({reason}) nor to {fallback}: it was printed above",
        )
    return fallback, f"could not write the result to {path} ({reason}); it was saved to {fallback}"


_SHORT_NAMES = {
    "speculative.num_speculative_tokens": "K",
    "speculative.synthetic_acceptance_length": "acceptance",
}


def point_label(config: RunConfig, varied: Sequence[str]) -> str | None:
    """What sets this point apart from the others of its invocation, e.g. 'vllm · speculative · rate 4'."""
    parts = []
    for key in varied:
        if key.startswith("speculative.") and not config.is_speculative:
            continue  # the AR baseline of a K or acceptance axis: none of them applies to it
        value = setting(config, key)
        name = _SHORT_NAMES.get(key) or key.split(".")[-1].replace("_", " ").replace(
            "max concurrency", "concurrency"
        )
        parts.append(str(value) if key in ("engine", "method") else f"{name} {describe_value(value)}")
    return " · ".join(parts) or None


def point_file_name(config: RunConfig, varied: Sequence[str]) -> str:
    """The original tool's name, plus what varies among the points of one session."""
    stem = default_result_name(config).removesuffix(".json")
    if "engine" in varied and config.engine is EngineName.transformers:
        stem += "_transformers"  # beside the other engines' files, name it as they are named
    spec = config.speculative
    if "speculative.num_speculative_tokens" in varied and config.is_speculative:
        stem += f"_k{spec.num_speculative_tokens}"
    if "speculative.synthetic_acceptance_length" in varied and config.is_speculative:
        stem += f"_acceptance{describe_value(spec.synthetic_acceptance_length)}"
    workload = config.workload
    if "workload.rate" in varied:
        stem += f"_rate{describe_value(workload.rate)}"
    if "workload.max_concurrency" in varied:
        stem += f"_concurrency{workload.max_concurrency}"
    return stem + ".json"


def setting(config: RunConfig, key: str) -> Any:
    """The value of a dotted setting, e.g. 'workload.rate'."""
    value: Any = config.model_dump(mode="json")
    for part in key.split("."):
        value = value[part]
    return value


def print_files(console: Console, saved: Path | None, files: PointFiles) -> None:
    parts = [f"Result: {escape(str(saved))}" if saved else "Result: printed above (not saved)"]
    if files.requests is not None and files.requests.exists():
        parts.append(f"per-request records: {escape(str(files.requests))}")
    if files.engine_log is not None and files.engine_log.exists() and files.engine_log.stat().st_size:
        parts.append(f"engine log: {escape(str(files.engine_log))}")
    console.print("   ".join(parts))
