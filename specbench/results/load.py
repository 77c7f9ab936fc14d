"""Read a specbench result file of any schema version into a BenchmarkResult."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from specbench.errors import SpecbenchError
from specbench.metrics.registry import spec_for_key
from specbench.results.model import SCHEMA_VERSION, BenchmarkResult, ResultIndex

# Schema 1.0 kept everything flat; engine figures renamed since.
_V1_RENAMED = {"prompt_tokens": "engine_prompt_tokens", "generation_tokens": "engine_generation_tokens"}
_V1_RUN_KEYS = ("status", "requests_file", "num_not_sent", "notes", "warnings")


class ResultFileError(SpecbenchError):
    """A file that is not a result this version can read: the message says which and why."""


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ResultFileError(
            f"{path} is a directory: pass a result file, or a directory with index.json"
        ) from None
    except UnicodeDecodeError as exc:
        raise ResultFileError(
            f"{path} is not a text file (binary data at byte {exc.start}): pass a specbench result (.json), "
            "another tool's result, or a directory of them"
        ) from None
    except OSError as exc:
        raise ResultFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def _invalid(path: Path, text: str, exc: json.JSONDecodeError, line: int | None = None) -> ResultFileError:
    where = "it is empty" if not text.strip() else f"line {line or exc.lineno}: {exc.msg}"
    return ResultFileError(f"{path} is not valid JSON ({where}); was it cut short?")


def read_json(path: Path) -> Any:
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _invalid(path, text, exc) from None


def read_json_documents(path: Path) -> list[Any]:
    """The JSON value of a file, or its values one per line (`vllm bench serve --append-result`)."""
    text = _read_text(path)
    try:
        return [json.loads(text)]
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise _invalid(path, text, exc) from None
    documents = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise _invalid(path, text, exc, line=number) from None
    return documents


def is_specbench_result(data: Any) -> bool:
    return isinstance(data, dict) and "schema_version" in data and "engine" in data


def result_from_json(data: dict[str, Any], path: Path) -> BenchmarkResult:
    """A specbench result of schema 1.x or 2.x; a newer major version is refused with the reason."""
    version = str(data.get("schema_version"))
    major = version.split(".")[0]
    try:
        if major == "1":
            return BenchmarkResult.from_json_dict(_upgrade_v1(data))
        if major == SCHEMA_VERSION.split(".")[0]:
            return BenchmarkResult.from_json_dict(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ResultFileError(
            f"{path} is a specbench result (schema {version}) but {where}: {error['msg']}"
        ) from None
    raise ResultFileError(
        f"{path} was written with result schema {version}; this specbench reads schemas 1.x and "
        f"{SCHEMA_VERSION.split('.')[0]}.x: upgrade specbench"
    )


def load_result(path: Path) -> BenchmarkResult:
    data = read_json(path)
    if not is_specbench_result(data):
        raise ResultFileError(f"{path} is not a specbench result file (it has no schema_version)")
    return result_from_json(data, path)


def load_index(path: Path) -> ResultIndex:
    data = read_json(path)
    try:
        return ResultIndex.model_validate(data)
    except ValidationError as exc:
        raise ResultFileError(f"{path} is not a specbench index.json: {exc.errors()[0]['msg']}") from None


def _upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1.0 was one flat dict: metrics, engine figures and metadata side by side."""
    flat = {_V1_RENAMED.get(key, key): value for key, value in data.items()}
    engine = dict(flat.get("engine") or {})
    engine.setdefault("method", flat.get("method", "unknown"))
    engine.setdefault("model", flat.get("model", "unknown"))
    engine.setdefault("draft_model", flat.get("draft_model"))
    run = {key: flat[key] for key in _V1_RUN_KEYS if key in flat}
    run.update(id=str(flat.get("date", "unknown")), started_at=flat.get("date"))
    run["specbench_version"] = flat.get("specbench_version")
    upgraded: dict[str, Any] = {
        "schema_version": str(data["schema_version"]),
        "run": run,
        "engine": engine,
        "workload": flat.get("workload") or {},
        "config": flat.get("config") or {},
        "config_sources": flat.get("config_sources") or {},
        "environment": flat.get("environment") or {},
    }
    upgraded.update({key: value for key, value in flat.items() if spec_for_key(key) is not None})
    return upgraded
