"""Prometheus text exposition (a server's /metrics) as metric families.

prometheus_client's parser where it is installed (vLLM brings it); otherwise a small parser of the same
shape, enough for counters and histograms, so the engine does not need the library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class MetricsFormatError(ValueError):
    """The text is not Prometheus exposition format."""


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(slots=True)
class Family:
    name: str
    type: str
    samples: list[Sample] = field(default_factory=list)


def parse_families(text: str) -> list[Any]:
    """Metric families with `.name`, `.type` and `.samples` (each `.name`, `.labels`, `.value`)."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        return parse_text(text)
    try:
        return list(text_string_to_metric_families(text))
    except ValueError as exc:
        raise MetricsFormatError(str(exc).splitlines()[0] if str(exc) else "unparsable") from None


_TYPE = re.compile(r"#\s*TYPE\s+(\S+)\s+(\S+)")
_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def parse_text(text: str) -> list[Family]:
    """The text format, the way prometheus_client reads it: a counter family `x_total` is named `x`."""
    families: list[Family] = []
    current: Family | None = None
    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            typed = _TYPE.match(line)
            if typed:
                name, kind = typed.groups()
                if kind == "counter" and name.endswith("_total"):
                    name = name[: -len("_total")]
                current = Family(name, kind)
                families.append(current)
            continue
        match = _SAMPLE.match(line)
        if match is None:
            raise MetricsFormatError(f"line {line_no} is not a sample: {line[:80]!r}")
        name, labels_text, value = match.groups()
        if current is None or not name.startswith(current.name):
            current = Family(name, "untyped")
            families.append(current)
        try:
            number = float(value)
        except ValueError:
            raise MetricsFormatError(f"line {line_no}: {value!r} is not a number") from None
        current.samples.append(Sample(name, _labels(labels_text or ""), number))
    return families


def _labels(text: str) -> dict[str, str]:
    labels = {}
    for key, raw in _LABEL.findall(text):
        labels[key] = re.sub(r'\\[\\"n]', lambda m: _UNESCAPE[m.group(0)], raw)
    return labels
