"""The flags of `specbench run`, generated from the fields of RunConfig: a field's flag is its own name
(`workload.input_len` → `--input-len`), its help is the field's description with the allowed values listed,
and its type follows the field's. Only flags whose name or syntax differs are in `FLAGS` below, so a field
added to specbench/config.py has its flag without a line here."""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from specbench.config import RunConfig
from specbench.errors import ConfigError, SpecbenchError
from specbench.settings import POINT_AXES, SESSION_AXES


def split_list(text: str, flag: str, parse: Any, example: str) -> Any:
    """'4' → one value; '1,2,4' → a list (an axis of the plan: one session or point per value)."""
    try:
        values = [parse(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values:
        raise ConfigError(f"{flag} {text!r}: give a value or several separated by commas, e.g. {example}")
    return values[0] if len(values) == 1 else values


def _parse_percentiles(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SpecbenchError(
            f"--percentiles {text!r}: give numbers separated by commas, e.g. 90,95,99"
        ) from None


def _parse_output_len(text: str) -> int | None:
    """A token count, or 'dataset' to take each request's output length from the dataset."""
    if text.strip().lower() == "dataset":
        return None
    try:
        return int(text)
    except ValueError:
        raise SpecbenchError(f"--output-len {text!r}: give a number of tokens, or 'dataset'") from None


def _parse_fraction(text: str) -> float:
    """'5%' → 0.05; '0.05' → 0.05."""
    try:
        value = float(text.strip().removesuffix("%")) / 100 if text.strip().endswith("%") else float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise SpecbenchError(
            f"--rate-precision {text!r}: give a percentage such as 5% or a fraction such as 0.05"
        )
    return value


def _parse_rates(text: str) -> list[float]:
    """Always a list, even of one rate (K = 1): the rates are one setting, not an axis."""
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        rates = []
    if not rates:
        raise SpecbenchError(
            f"--synthetic-acceptance-rates {text!r}: give one rate per draft position, e.g. 0.8,0.6,0.4"
        )
    return rates


@dataclass(frozen=True, slots=True)
class Flag:
    """What differs from the generated flag of a field: its name, its on/off pair, how it is shown or read."""

    name: str | None = None  # the parameter name (flag = --name with dashes); None = the field's own name
    decls: tuple[str, ...] = ()  # explicit declarations, e.g. ("--chat/--completions",)
    metavar: str | None = None
    parse: Callable[[str], Any] | None = None  # reads the typed text (the flag is then a string)
    example: str | None = None  # for an axis: what several values look like


# The explicit table: the seed's names that are not the field's, on/off pairs with their own words, and
# values with a syntax of their own. Everything else comes from the field.
FLAGS: dict[str, Flag] = {
    "engine": Flag(metavar="NAME[,NAME…]", example="transformers,vllm"),
    "method": Flag(metavar="METHOD[,METHOD…]", example="target-ar,speculative"),
    "dummy_weights": Flag(decls=("--dummy-weights/--real-weights",)),
    "percentiles": Flag(metavar="90,95,99", parse=_parse_percentiles),
    "workload.rate": Flag(metavar="R[,R…]", example="1,2,4 or inf"),
    "workload.max_concurrency": Flag(metavar="N[,N…]", example="1,8,32"),
    "workload.output_len": Flag(metavar="N|dataset", parse=_parse_output_len),
    "speculative.num_speculative_tokens": Flag(metavar="K[,K…]", example="1,2,3,5"),
    "speculative.synthetic_acceptance_length": Flag(
        "synthetic_acceptance", metavar="LENGTH[,LENGTH…]", example="1.5,2.5,3.5"
    ),
    "speculative.synthetic_acceptance_rates": Flag(metavar="R1,R2,…", parse=_parse_rates),
    "workload.prompts_per_concurrency": Flag(metavar="N"),
    "workload.prefix_groups": Flag(metavar="G"),
    "workload.prefix_len": Flag(metavar="L"),
    "workload.trace": Flag(metavar="FILE"),
    "workload.trace_window": Flag(metavar="START:END"),
    "workload.ramp_to": Flag(metavar="R"),
    "workload.window_s": Flag("window", metavar="S"),
    "workload.turns": Flag(metavar="N"),
    "workload.think_time_s": Flag("think_time", metavar="S"),
    "speculative.ngram_prompt_lookup_min": Flag("ngram_min"),
    "speculative.ngram_prompt_lookup_max": Flag("ngram_max"),
    "vllm.kv_cache_space_gb": Flag("kv_cache_space"),
    "vllm.disable_log_stats": Flag(decls=("--disable-log-stats/--enable-log-stats",)),
    "echo.ttft_ms": Flag("echo_ttft_ms"),
    "echo.token_delay_ms": Flag("echo_token_delay_ms"),
    "echo.slots": Flag("echo_slots"),
    "echo.draft_ms": Flag("echo_draft_ms"),
    "echo.verify_ms": Flag("echo_verify_ms"),
    "echo.load_ms_per_token": Flag("echo_load_ms_per_token"),
    "openai.base_url": Flag(metavar="URL"),
    "openai.api_key_env": Flag(metavar="NAME"),
    "openai.chat": Flag(decls=("--chat/--completions",)),
    "openai.metrics_url": Flag(metavar="URL|none"),
    "openai.connect_timeout_s": Flag("connect_timeout"),
    "openai.read_timeout_s": Flag("read_timeout"),
    "openai.request_timeout_s": Flag("request_timeout"),
    "output.path": Flag("output", decls=("--output", "-o")),
    "output.dir": Flag("output_dir"),
    "slo.ttft_ms": Flag("slo_ttft_ms"),
    "slo.tpot_ms": Flag("slo_tpot_ms"),
    "slo.e2el_ms": Flag("slo_e2el_ms"),
    "telemetry.enabled": Flag("gpu_telemetry"),
    "telemetry.interval_s": Flag("gpu_interval", metavar="S"),
    "sweep.points": Flag("sweep", metavar="N"),
    "sweep.rate_precision": Flag(metavar="5%", parse=_parse_fraction),
}

# Settings a profile may set but no flag does (none today): a field whose type no flag can carry (a mapping,
# a list of sections) goes here. The test of the flags names each field's flag or its place here.
FILE_ONLY: frozenset[str] = frozenset()

AXES = (*SESSION_AXES, *POINT_AXES)


def config_fields(model: type[BaseModel] = RunConfig, prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Every setting of the model as (dotted key, field), in declaration order, sections opened."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from config_fields(annotation, f"{prefix}{name}.")
        else:
            yield prefix + name, field


def _flag_keys() -> dict[str, str]:
    """Parameter name → dotted key. A leaf name that an earlier field has taken is prefixed by its section
    (`vllm.dtype` → --vllm-dtype), so a new field never renames an existing flag."""
    keys: dict[str, str] = {}
    for dotted, _ in config_fields():
        if dotted in FILE_ONLY:
            continue
        name = FLAGS[dotted].name if dotted in FLAGS and FLAGS[dotted].name else dotted.split(".")[-1]
        if name in keys:
            name = dotted.replace(".", "_")
        keys[name] = dotted
    return keys


FLAG_KEYS: dict[str, str] = _flag_keys()
_FIELDS: dict[str, FieldInfo] = dict(config_fields())


def flag_label(param: str) -> str:
    return "--" + param.replace("_", "-")


def flag_names() -> dict[str, str]:
    """Dotted key → the flag that sets it, for error messages that name what the user typed."""
    return {key: flag_label(param) for param, key in FLAG_KEYS.items()}


def _value_type(annotation: Any) -> Any:
    """The type inside `X | None`."""
    if isinstance(annotation, UnionType) or typing.get_origin(annotation) is typing.Union:
        inner = [arg for arg in typing.get_args(annotation) if arg is not NoneType]
        lists = [arg for arg in inner if typing.get_origin(arg) is list]
        # `int | list[int]`: one value or several, read as a comma-separated list.
        return inner[0] if len(inner) == 1 else (lists[0] if lists else str)
    return annotation


def _choices(kind: Any) -> list[str]:
    if typing.get_origin(kind) is typing.Literal:
        return [str(arg) for arg in typing.get_args(kind)]
    if isinstance(kind, type) and issubclass(kind, Enum):
        return [str(member.value) for member in kind]
    return []


def field_help(dotted: str) -> str:
    return _FIELDS[dotted].description or ""


def field_metavar(dotted: str) -> str | None:
    """The allowed values, where the field has a fixed set, in place of the parser's bare <str>."""
    choices = _choices(_value_type(_FIELDS[dotted].annotation))
    return "[" + "|".join(choices) + "]" if choices else None


def _flag_type(dotted: str) -> Any:
    """The Python type Typer reads the flag as: the field's own for numbers, paths and on/off; text for
    choices (pydantic then says what is allowed), lists and values with a syntax of their own."""
    kind = _value_type(_FIELDS[dotted].annotation)
    if dotted in AXES or (dotted in FLAGS and FLAGS[dotted].parse) or typing.get_origin(kind) is list:
        return str
    return kind if kind in (bool, int, float, Path) else str


def option(param: str, *names: str, **kwargs: Any) -> Any:
    """The Typer option of a flag, its help from the field (used by other commands that share a flag)."""
    metavar = field_metavar(FLAG_KEYS[param])
    if metavar is not None and "metavar" not in kwargs:
        kwargs["metavar"] = metavar
    return typer.Option(*names, help=field_help(FLAG_KEYS[param]), show_default=False, **kwargs)


def setting_parameters() -> list[inspect.Parameter]:
    """One keyword parameter per flag, defaulting to None (not typed: the lower layers decide)."""
    parameters = []
    for param, dotted in FLAG_KEYS.items():
        flag = FLAGS.get(dotted, Flag())
        kind = _flag_type(dotted)
        decls = flag.decls or (
            (f"{flag_label(param)}/--no-{param.replace('_', '-')}",) if kind is bool else ()
        )
        info = option(param, *decls, **({"metavar": flag.metavar} if flag.metavar else {}))
        parameters.append(
            inspect.Parameter(
                param, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind | None, info]
            )
        )
    return parameters


def parse_flags(values: dict[str, Any]) -> dict[str, Any]:
    """The flags the user typed (None = not typed), read and keyed by their dotted setting."""
    flags: dict[str, Any] = {}
    for param, value in values.items():
        if value is None or param not in FLAG_KEYS:
            continue
        dotted = FLAG_KEYS[param]
        flag = FLAGS.get(dotted, Flag())
        if flag.parse is not None:
            value = flag.parse(value)
        elif dotted in AXES:
            value = split_list(value, flag_label(param), _element_parser(dotted), flag.example or "1,2,4")
        elif typing.get_origin(_value_type(_FIELDS[dotted].annotation)) is list:
            value = split_list(value, flag_label(param), _element_parser(dotted), flag.example or "1,2,4")
            value = value if isinstance(value, list) else [value]
        flags[dotted] = value
    return flags


def _element_parser(dotted: str) -> Callable[[str], Any]:
    """How one of several comma-separated values is read: as a number where the field holds numbers."""
    kind = _value_type(_FIELDS[dotted].annotation)
    if typing.get_origin(kind) is list:
        kind = _value_type(typing.get_args(kind)[0])
    return kind if kind in (int, float) else str
