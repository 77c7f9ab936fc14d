"""Where results go and how they are written: atomically, readable by others, never over an earlier one."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from specbench.config import EngineName, RunConfig
from specbench.errors import ConfigError, cannot_write


def default_result_name(config: RunConfig) -> str:
    """benchmark_results_<method>[_<engine>].json, the original tool's names (Transformers has no suffix)."""
    suffix = "" if config.engine is EngineName.transformers else f"_{config.engine.value}"
    return f"benchmark_results_{config.method.value.replace('-', '_')}{suffix}.json"


def result_path(config: RunConfig) -> Path:
    """--output, else the original tool's name in --output-dir; a bare --output name given beside an
    --output-dir goes into it, as vLLM's --result-filename goes into its --result-dir."""
    path = config.output.path
    if path is None:
        path = config.output.dir / default_result_name(config)
    elif path.parent == Path(".") and "dir" in config.output.model_fields_set:
        path = config.output.dir / path
    if path.is_dir():
        raise ConfigError(f"--output {path} is a directory: pass a file name, or use --output-dir {path}")
    return path


def requests_path(result: Path) -> Path:
    return result.with_name(result.stem + "_requests.jsonl")


def engine_log_path(result: Path) -> Path:
    return result.with_name(result.stem + "_engine.log")


def check_writable(directory: Path, what: str = "--output-dir") -> None:
    """Prove a file can be written in `directory`, before anything is measured, and create nothing.

    A directory that does not exist yet is made by the first file written into it; until then its nearest
    existing parent must take files. A refused or failed run leaves no empty results/ behind.
    """
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise cannot_write(f"results to {directory}", f"{existing} is a file, not a directory", what)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        reason = f"the system refuses new files in {existing} ({exc.strerror or exc})"
        raise cannot_write(f"results to {directory}", reason, what) from None


def _json_safe(value: Any) -> Any:
    # JSON has no Infinity; a rate of inf is written as the string "inf".
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else None)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def to_json_text(data: dict[str, Any]) -> str:
    return json.dumps(_json_safe(data), indent=2, allow_nan=False) + "\n"


def _umask() -> int:
    # Read rather than set-and-restore: os.umask() changes it for every thread while it runs.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write to a temporary file beside the target and rename it into place, with the umask's mode."""
    text = to_json_text(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private; a result is a shared file like any other the user writes.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fallback_path(path: Path) -> Path:
    """Where a result goes when its own directory cannot take it: the system's temporary directory."""
    return Path(tempfile.gettempdir()) / f"specbench-{os.getpid()}-{path.name}"


# A result's companions: the run-section field that names each, and where it lies beside the result.
_COMPANIONS = (("requests_file", requests_path), ("engine_log", engine_log_path))


def set_aside_previous(path: Path, *, orphans: bool = False) -> Path | None:
    """Keep an earlier run's result, its records and its log together under one timestamped name, the
    result rewritten to name them there: left as they were, it would name the files the next run writes.

    With `orphans`, companions without a result (a run whose engine never started left its log) are kept
    aside too, so a new run never appends to them: only before the new run opens its own log there.
    Returns the kept result's path, None where there was none."""
    if not path.exists():
        for _, companion in _COMPANIONS if orphans else ():
            if companion(path).exists():
                orphan = companion(path)
                stamped = path.with_name(f"{path.stem}.{_mtime_stamp(orphan)}{path.suffix}")
                os.replace(orphan, companion(stamped))
        return None
    stamp = _mtime_stamp(path)
    kept = path.with_name(f"{path.stem}.{stamp}{path.suffix}")
    number = 1
    while kept.exists():  # runs within one second: never over a result kept before
        number += 1
        kept = path.with_name(f"{path.stem}.{stamp}-{number}{path.suffix}")
    os.replace(path, kept)
    moved = {}
    for field, companion in _COMPANIONS:
        if companion(path).exists():
            os.replace(companion(path), companion(kept))
            moved[field] = companion(kept).name
    _rename_companions(kept, {field: moved.get(field) for field, _ in _COMPANIONS}, old=path)
    return kept


def _rename_companions(result: Path, names: dict[str, str | None], *, old: Path) -> None:
    """Point the kept result at its companions' new names; one that named a companion that was not there
    names nothing (the next run's file would take its name). A file that is not a specbench result of
    this shape is left as it is."""
    try:
        data = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return
    run = data.get("run") if isinstance(data, dict) else None
    if not isinstance(run, dict):
        return
    changed = False
    for field, companion in _COMPANIONS:
        if run.get(field) == companion(old).name and run.get(field) != names[field]:
            run[field] = names[field]
            changed = True
    if changed:
        times = result.stat()
        write_json_atomic(result, data)
        os.utime(result, ns=(times.st_atime_ns, times.st_mtime_ns))  # its name's stamp stays its own time


def _mtime_stamp(path: Path) -> str:
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    return mtime.strftime("%Y%m%dT%H%M%SZ")
