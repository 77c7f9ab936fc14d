"""The result file: one versioned JSON document per run, written atomically."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from specbench.config import EngineName, RunConfig
from specbench.errors import ConfigError


def default_result_name(config: RunConfig) -> str:
    """benchmark_results_<method>[_vllm].json, the original tool's names."""
    suffix = "" if config.engine is EngineName.transformers else f"_{config.engine.value}"
    return f"benchmark_results_{config.method.value.replace('-', '_')}{suffix}.json"


def result_path(config: RunConfig) -> Path:
    path = config.output.path or config.output.dir / default_result_name(config)
    if path.is_dir():
        raise ConfigError(f"--output {path} is a directory: pass a file name, or use --output-dir {path}")
    return path


def requests_path(result: Path) -> Path:
    return result.with_name(result.stem + "_requests.jsonl")


def _json_safe(value: Any) -> Any:
    # JSON has no Infinity; a rate of inf is written as the string "inf".
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else None)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write to a temporary file beside the target and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(_json_safe(data), handle, indent=2, allow_nan=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def set_aside_previous(path: Path) -> Path | None:
    """Keep an earlier run's result (and its records) under a timestamped name instead of overwriting."""
    if not path.exists():
        return None
    stamp = _mtime_stamp(path)
    kept = path.with_name(f"{path.stem}.{stamp}{path.suffix}")
    os.replace(path, kept)
    old_requests = requests_path(path)
    if old_requests.exists():
        os.replace(old_requests, requests_path(kept))
    return kept


def _mtime_stamp(path: Path) -> str:
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    return mtime.strftime("%Y%m%dT%H%M%SZ")
