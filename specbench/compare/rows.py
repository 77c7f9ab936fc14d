"""Rows of a comparison: each figure of every run, its ratio to the baseline and whether that is better."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from specbench.metrics.registry import Better, MetricSpec
from specbench.results.model import BenchmarkResult

Verdict = Literal["better", "worse", "same"]
# Ratios this close to 1 are "the same": below the noise of any benchmark run.
SAME_WITHIN = 0.01


@dataclass(frozen=True, slots=True)
class Row:
    """One figure across the runs. `values` are as the result holds them (fractions as fractions)."""

    key: str
    spec: MetricSpec
    label: str
    values: tuple[float | None, ...]
    ratios: tuple[float | None, ...]  # value ÷ baseline's value; None for the baseline itself
    verdicts: tuple[Verdict | None, ...]

    @property
    def group(self) -> str:
        return self.spec.group

    @property
    def better(self) -> Better | None:
        return self.spec.better


def build_rows(
    keys: Sequence[tuple[str, MetricSpec]], results: Sequence[BenchmarkResult | None], baseline: int
) -> list[Row]:
    """A row per key some run has a value for; a per-position list becomes a row per position."""
    rows = []
    for key, spec in keys:
        columns = [_value(result, key) for result in results]
        lists = [value for value in columns if isinstance(value, list)]
        if lists:
            for position in range(max(len(value) for value in lists)):
                values = [_item(value, position) for value in columns]
                rows.append(
                    _row(f"{key}[{position}]", spec, position_label(spec, position), values, baseline)
                )
        elif any(isinstance(value, int | float) for value in columns):
            values = [value if isinstance(value, int | float) else None for value in columns]
            rows.append(_row(key, spec, row_label(key, spec), values, baseline))
    return rows


def row_label(key: str, spec: MetricSpec) -> str:
    """'Mean TTFT (ms)' for a distribution key, the registry's label otherwise (as the run summary)."""
    if not spec.distribution:
        return spec.label
    stat = key.split("_", 1)[0]
    return f"{stat.capitalize()} {spec.label} ({spec.unit})"


def position_label(spec: MetricSpec, position: int) -> str:
    """'Per-position acceptance, position 0 (%)': the list's label with the position before its unit."""
    name, _, unit = spec.label.partition(" (")
    return f"{name}, position {position}" + (f" ({unit}" if unit else "")


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return value / base


def verdict(value_ratio: float | None, better: Better | None) -> Verdict | None:
    if value_ratio is None or better is None:
        return None
    if abs(value_ratio - 1) < SAME_WITHIN:
        return "same"
    return "better" if (value_ratio > 1) == (better == "higher") else "worse"


def _row(key: str, spec: MetricSpec, label: str, values: list[float | None], baseline: int) -> Row:
    base = values[baseline]
    ratios = tuple(None if i == baseline else ratio(value, base) for i, value in enumerate(values))
    return Row(
        key=key,
        spec=spec,
        label=label,
        values=tuple(values),
        ratios=ratios,
        verdicts=tuple(verdict(r, spec.better) for r in ratios),
    )


def _value(result: BenchmarkResult | None, key: str) -> object:
    if result is None:
        return None
    value = result.metrics.get(key)
    return None if isinstance(value, bool) else value


def _item(value: object, position: int) -> float | None:
    if isinstance(value, list) and position < len(value) and isinstance(value[position], int | float):
        return float(value[position])
    return None


OTHER_FIGURES = "Other figures"


def other_rows(results: Sequence[BenchmarkResult | None], baseline: int) -> list[Row]:
    """A row per number a result holds at its top level that this specbench does not know (written by a
    newer one): shown as read, with ratios but no verdict, since which direction is better is not known."""
    keys = dict.fromkeys(key for result in results if result is not None for key in result.other)
    rows = []
    for key in keys:
        columns = [result.other.get(key) if result is not None else None for result in results]
        values = [v if isinstance(v, int | float) and not isinstance(v, bool) else None for v in columns]
        if any(value is not None for value in values):
            spec = MetricSpec(
                name=key,
                unit="",
                better=None,
                description="a figure this specbench does not know",
                label=key,
                group=OTHER_FIGURES,
                sources=(),
            )
            rows.append(_row(key, spec, key, values, baseline))
    return rows
