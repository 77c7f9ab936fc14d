"""Resolve a RunConfig from its layers: defaults < profile < environment < flags the user typed.

Each layer is a nested dict holding only the values that layer actually sets, so a lower layer is
overridden only where a higher one says something. Where every value came from is kept for
`--dry-run` and for error messages.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from specbench.config import RunConfig, UnshownValueError
from specbench.errors import ConfigError

PROFILE_ALIASES = {"quick": "quick-test", "stress": "stress-test"}


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _parse_method(text: str) -> str:
    # The original tool spelled methods with underscores (target_ar); accept both.
    return text.strip().lower().replace("_", "-")


def _parse_batching(text: str) -> str:
    return "dynamic" if _parse_bool(text) else "serial"


def _one_or_many(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """'4' → 4.0; '1,2,4' → [1.0, 2.0, 4.0]: a list makes the setting an axis of the plan."""

    def parse_list(text: str) -> Any:
        values = [parse(part) for part in text.split(",") if part.strip()]
        if not values:
            raise ValueError("empty")
        return values[0] if len(values) == 1 else values

    return parse_list


@dataclass(frozen=True, slots=True)
class EnvVar:
    key: str  # dotted RunConfig path
    parse: Callable[[str], Any]
    help: str


# The original shell workflow's variables, kept so existing scripts keep working.
ENV_VARS: dict[str, EnvVar] = {
    "INFERENCE_ENGINE": EnvVar(
        "engine",
        _one_or_many(str.strip),
        "transformers | vllm | echo | openai, or several separated by commas",
    ),
    "INFERENCE_METHOD": EnvVar(
        "method",
        _one_or_many(_parse_method),
        "target-ar | draft-ar | speculative | prompt-lookup, or several separated by commas",
    ),
    "NUM_PROMPTS": EnvVar("workload.num_prompts", int, "measured requests; 0 = rate mode"),
    "AUTO_RATE": EnvVar(
        "workload.rate", _one_or_many(float), "requests per second, or several separated by commas (a sweep)"
    ),
    "AUTO_DURATION": EnvVar("workload.duration", float, "seconds to send for in rate mode"),
    "ENABLE_BATCH": EnvVar(
        "transformers.batching", _parse_batching, "true = dynamic batching (Transformers)"
    ),
    "VLLM_TENSOR_PARALLEL_SIZE": EnvVar("vllm.tensor_parallel_size", int, "GPUs per replica"),
    "VLLM_GPU_MEMORY_UTILIZATION": EnvVar("vllm.gpu_memory_utilization", float, "0 < x <= 1"),
    "VLLM_MAX_MODEL_LEN": EnvVar("vllm.max_model_len", int, "context length"),
    "VLLM_MAX_NUM_SEQS": EnvVar("vllm.max_num_seqs", int, "most sequences per batch"),
    "VLLM_DISABLE_LOG_STATS": EnvVar("vllm.disable_log_stats", _parse_bool, "true/false"),
    "VLLM_DTYPE": EnvVar("vllm.dtype", str.strip, "dtype for vLLM (half, bfloat16, float32, auto)"),
}


# Settings that may hold several values. Each engine × method is its own engine session (the
# head-to-head); each rate × concurrency is a measured point inside a session (a sweep).
# K and the synthetic acceptance length change vLLM's engine, so each value is its own session too; a
# session that does not speculate takes none of them and runs once (the AR baseline shared across K).
SPEC_AXES = ("speculative.num_speculative_tokens", "speculative.synthetic_acceptance_length")
SESSION_AXES = ("engine", "method", *SPEC_AXES)
POINT_AXES = ("workload.rate", "workload.max_concurrency")
_SPECULATIVE_METHODS = ("speculative", "prompt-lookup")
# Settings that take a list as one value, not as an axis.
_LIST_VALUED = ("percentiles", "speculative.synthetic_acceptance_rates")


@dataclass(frozen=True, slots=True)
class ResolvedConfig:
    config: RunConfig
    sources: dict[str, str]  # dotted key -> "default" | "profile <name>" | "env VAR" | "flag --x"


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """One engine session: its measured points, in the order they run (all share engine settings)."""

    points: list[ResolvedConfig]

    @property
    def config(self) -> RunConfig:
        return self.points[0].config

    @property
    def sources(self) -> dict[str, str]:
        return self.points[0].sources


@dataclass(frozen=True, slots=True)
class RunPlan:
    sessions: list[SessionPlan]
    varied: tuple[str, ...]  # the dotted keys that take several values
    skipped: tuple[str, ...] = ()  # combinations of the axes that cannot run, one line each

    @property
    def single(self) -> ResolvedConfig | None:
        """The one config when nothing varies."""
        if len(self.sessions) == 1 and len(self.sessions[0].points) == 1:
            return self.sessions[0].points[0]
        return None

    @property
    def generated(self) -> bool:
        """A --sweep or SLO search chooses the points as it goes."""
        return any(session.config.sweep.active for session in self.sessions)

    @property
    def several_results(self) -> bool:
        """More than one result file: they go into <output-dir>/<run id>/ with an index."""
        return self.single is None or self.generated


def profile_dirs() -> list[Path]:
    """Installed wheels carry profiles inside the package; a source checkout has them in configs/."""
    package_dir = Path(__file__).resolve().parent
    return [d for d in (package_dir / "configs", package_dir.parent / "configs") if d.is_dir()]


def available_profiles() -> list[str]:
    return sorted({p.stem for d in profile_dirs() for p in d.glob("*.yaml")})


def find_profile(name: str) -> Path:
    """A profile by name (quick, stress, quick-test, smoke, …) or a path to a YAML file."""
    candidate = Path(name).expanduser()
    if candidate.is_dir():
        raise ConfigError(
            f"profile {name} is a directory: pass a YAML file in it, or a profile name "
            f"({', '.join(available_profiles())})"
        )
    if candidate.suffix in (".yaml", ".yml") or os.sep in name:
        if not candidate.is_file():
            raise ConfigError(f"profile file {name} does not exist")
        return candidate
    stem = PROFILE_ALIASES.get(name, name)
    for directory in profile_dirs():
        path = directory / f"{stem}.yaml"
        if path.is_file():
            return path
    raise ConfigError(
        f"unknown profile {name!r}: use one of {', '.join(available_profiles())} "
        "(or quick/stress), or a path to a YAML file"
    )


def load_profile(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"profile {path} is not valid YAML{where}: fix the file or pick another profile"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read profile {path}: {exc.strerror}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"profile {path} must be a YAML mapping of settings, not a {type(data).__name__}")
    data.pop("description", None)
    return data


def env_layer(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Flat dotted-key values from the environment, with the variable each came from."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, var in ENV_VARS.items():
        raw = environ.get(name)
        if raw is None or raw.strip() == "":
            continue
        try:
            value = var.parse(raw)
        except ValueError:
            raise ConfigError(
                f"environment variable {name}={raw!r} is not valid: expected {var.help}"
            ) from None
        values[var.key] = value
        sources[var.key] = f"env {name}"
    return values, sources


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{part} must be a section of settings, not {child!r}: fix the profile")
            node = child
        node[leaf] = value
    return tree


def _describe_error(exc: ValidationError, sources: Mapping[str, str]) -> str:
    error = exc.errors()[0]
    loc = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-"))
    message = error["msg"].removeprefix("Value error, ")
    origin = sources.get(loc)
    where = f"{loc} (from {origin})" if origin else loc
    if error["type"] == "extra_forbidden":
        return f"unknown setting {where}: check its spelling against docs/CONFIGURATION.md"
    if not loc:
        return message
    value = error.get("input")
    unshown = isinstance((error.get("ctx") or {}).get("error"), UnshownValueError)
    shown = f" = {describe_value(value)}" if origin and not isinstance(value, dict) and not unshown else ""
    return f"{where}{shown}: {message}"


def _layers(
    profile: str | None, flags: Mapping[str, Any], flag_names: Mapping[str, str], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if profile:
        path = find_profile(profile)
        for key, value in flatten(load_profile(path)).items():
            merged[key] = value
            sources[key] = f"profile {path.stem}"
    env_values, env_sources = env_layer(environ)
    merged.update(env_values)
    sources.update(env_sources)
    for key, value in flags.items():
        merged[key] = value
        sources[key] = f"flag {flag_names.get(key, key)}"
    return merged, sources


def _validate(merged: Mapping[str, Any], sources: dict[str, str]) -> ResolvedConfig:
    try:
        config = RunConfig.model_validate(_nest(merged))
    except ValidationError as exc:
        raise ConfigError(_describe_error(exc, sources)) from None
    sources = dict(sources)
    for key in flatten(config.model_dump(mode="json")):
        sources.setdefault(key, "default")
    return ResolvedConfig(config=config, sources=sources)


def _axis_values(merged: Mapping[str, Any], key: str, sources: Mapping[str, str]) -> list[Any]:
    value = merged.get(key)
    if not isinstance(value, list):
        return [value] if key in merged else [None]
    if not value:
        raise ConfigError(f"{key} (from {sources.get(key)}) is an empty list: give at least one value")
    repeated = [item for position, item in enumerate(value) if item in value[:position]]
    if repeated:
        # Measuring the same thing twice is a typo more often than a wish: say so rather than drop it.
        raise ConfigError(
            f"{key} (from {sources.get(key)}) lists {describe_value(repeated[0])} twice: give each value once"
        )
    return list(value)


def _combinations(merged: Mapping[str, Any], axes: tuple[str, ...], sources: Mapping[str, str]) -> list[dict]:
    combos: list[dict[str, Any]] = [{}]
    for key in axes:
        combos = [{**combo, key: value} for combo in combos for value in _axis_values(merged, key, sources)]
    return [{k: v for k, v in combo.items() if v is not None or k in merged} for combo in combos]


def _session_combinations(
    merged: Mapping[str, Any], sources: Mapping[str, str], skipped: list[str]
) -> list[dict]:
    """engine × method × K × acceptance length; a method that does not speculate once per engine, with
    the speculative settings as they are outside the axes (so the AR baseline is measured once). A length
    above K + 1 cannot be reached with K drafts: with both axes that pair is left out (said in `skipped`)."""
    combos: list[dict[str, Any]] = []
    seen: set[str] = set()
    k_key, length_key = SPEC_AXES
    both_axes = isinstance(merged.get(k_key), list) and isinstance(merged.get(length_key), list)
    for combo in _combinations(merged, SESSION_AXES, sources):
        k, length = combo.get(k_key), combo.get(length_key)
        if both_axes and isinstance(k, int) and isinstance(length, int | float) and length > k + 1:
            note = f"K {k} with acceptance length {length:g} left out: K drafts reach at most K + 1"
            if note not in skipped:
                skipped.append(note)
            continue
        method = combo.get("method") or RunConfig.model_fields["method"].default
        if str(method) not in _SPECULATIVE_METHODS:
            # The first K stands for all (unused); no acceptance length, which only a drafter has.
            for key in SPEC_AXES:
                if isinstance(merged.get(key), list):
                    combo[key] = merged[key][0] if key == SPEC_AXES[0] else None
        key = repr(sorted(combo.items()))
        if key not in seen:
            seen.add(key)
            combos.append(combo)
    return combos


def resolve_plan(
    *,
    profile: str | None,
    flags: Mapping[str, Any],
    flag_names: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
) -> RunPlan:
    """Merge the layers; a list in an axis setting makes one session or point per value."""
    environ = os.environ if environ is None else environ
    merged, sources = _layers(profile, flags, flag_names, environ)
    for key, value in merged.items():
        if isinstance(value, list) and key not in (*SESSION_AXES, *POINT_AXES, *_LIST_VALUED):
            raise ConfigError(f"{key} (from {sources.get(key)}) takes one value, not a list")
    sessions = []
    skipped: list[str] = []
    for session_values in _session_combinations(merged, sources, skipped):
        points = [
            _validate({**merged, **session_values, **point_values}, sources)
            for point_values in _combinations(merged, POINT_AXES, sources)
        ]
        sessions.append(SessionPlan(points=points))
    varied = tuple(key for key in (*SESSION_AXES, *POINT_AXES) if len(_axis_values(merged, key, sources)) > 1)
    plan = RunPlan(sessions=sessions, varied=varied, skipped=tuple(skipped))
    check_plan(plan)
    return plan


def check_plan(plan: RunPlan) -> None:
    """Refuse combinations of settings no run can carry out, so `--dry-run` refuses them as the run would.

    Checks that need the files of the plan (model directories, datasets, context lengths) are made where the
    session prepares them, before any engine starts (specbench/session/prepare.py).
    """
    if plan.several_results and plan.sessions[0].config.output.path is not None:
        raise ConfigError(f"{_several_results(plan)}: pass --output-dir DIR instead of --output")
    for session in plan.sessions:
        if session.config.sweep.active and len(session.points) > 1:
            raise ConfigError(
                "--sweep and --find-max-rate choose every point's rate: give --rate and "
                "--max-concurrency one value each"
            )


def _several_results(plan: RunPlan) -> str:
    sweep = plan.sessions[0].config.sweep
    if sweep.active:
        return f"{'--sweep' if sweep.points is not None else '--find-max-rate'} makes several results"
    return f"{', '.join(plan.varied)} take several values, so there are several results"


def resolve_config(
    *,
    profile: str | None,
    flags: Mapping[str, Any],
    flag_names: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
) -> ResolvedConfig:
    """Merge the layers and validate once. `flags` holds only what the user typed (dotted keys)."""
    plan = resolve_plan(profile=profile, flags=flags, flag_names=flag_names, environ=environ)
    if plan.single is None:
        raise ConfigError(f"{', '.join(plan.varied)} take several values here; give one value each")
    return plan.single


def describe_value(value: Any) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "unset"
    return str(value)
