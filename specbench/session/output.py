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
from specbench.errors import ConfigError, SpecbenchError, cannot_write
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
        keep_earlier_result(path, console)
        records = requests_path(path) if save_requests else None
        try:
            writer = JsonlRecordWriter(records) if records is not None else None
        except OSError as exc:
            raise cannot_write(records, exc) from None
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


def keep_earlier_result(path: Path, console: Console, *, before_engine_log: bool = False) -> Path | None:
    """Set an earlier run's result at `path` aside with its records and engine log (results/files.py).

    A single run calls this before its engine starts (`before_engine_log`): the engine's log file opens
    then, and it is one of the files the earlier result keeps; set aside later, the new run's log would go
    with the old result. Only then is a log left without a result set aside too.
    """
    try:
        kept = set_aside_previous(path, orphans=before_engine_log)
    except OSError as exc:
        raise ConfigError(
            f"cannot keep the earlier result at {path} aside: {exc.strerror or exc}; pass another --output"
        ) from None
    if kept is not None:
        console.print(f"An earlier result at {escape(str(path))} was kept as {escape(kept.name)}")
    return kept


def mark_incomplete(result: BenchmarkResult, why: str) -> None:
    """A run whose figures were measured but whose files were not all written (a full disk): its status
    says so, and a warning says what is missing."""
    if result.run.status == "completed":
        result.run.status = "incomplete"
    result.run.warnings.append(why)


def save_result(result: BenchmarkResult, path: Path, console: Console) -> tuple[Path | None, str | None]:
    """Write the result; where its path fails, to a fallback it names; failing that, print it.

    A result saved elsewhere names its records and engine log by their full paths (they stayed beside
    `path`), or says they were lost, and its status is incomplete. Returns where it went (None: printed)
    and, if not to `path`, the one-line problem.
    """
    try:
        write_json_atomic(path, result.to_json_dict())
        return path, None
    except OSError as exc:
        reason = exc.strerror or str(exc)
    fallback = fallback_path(path)
    _name_companions_from_afar(result, path.parent)
    mark_incomplete(result, f"the result could not be written to {path} ({reason})")
    data = result.to_json_dict()
    try:
        write_json_atomic(fallback, data)
    except OSError:
        console.print(to_json_text(data), markup=False, highlight=False, soft_wrap=True)
        return (
            None,
            f"could not write the result to {path} ({reason}) nor to {fallback}: it was printed above",
        )
    return fallback, f"could not write the result to {path} ({reason}); it was saved to {fallback}"


def _name_companions_from_afar(result: BenchmarkResult, directory: Path) -> None:
    """The records and log a result names lie in `directory`: named by full path for a result saved
    elsewhere, or named no more where they are gone."""
    run = result.run
    if run.requests_file is not None:
        records = (directory / run.requests_file).absolute()
        if records.is_file():
            run.requests_file = str(records)
        else:
            run.requests_file = None
            run.warnings.append(f"the per-request records were lost (no {records})")
    if run.engine_log is not None:
        log = (directory / run.engine_log).absolute()
        run.engine_log = str(log) if log.is_file() else None


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
    """Each file on a line of its own, its path whole: never wrapped mid-name, so it can be copied."""
    if saved is None:
        console.print("Result: printed above (not saved)")
    lines = [("Result", saved)] if saved else []
    if files.requests is not None and files.requests.exists():
        lines.append(("Per-request records", files.requests))
    if files.engine_log is not None and files.engine_log.exists() and files.engine_log.stat().st_size:
        lines.append(("Engine log", files.engine_log))
    for name, path in lines:
        console.print(f"{name}:")
        console.print(f"  {escape(str(path))}", soft_wrap=True, highlight=False)
