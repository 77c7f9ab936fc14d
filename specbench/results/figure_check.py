"""Every figure a result file holds is a finite number (or a list of them), checked once where files are read.

A hand-edited or corrupt file with `"completed": "fifty"` or `"output_throughput": NaN` would otherwise
be shown as a missing figure ("—") or turn into "nan×" ratios: a wrong number passed on without a word.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from specbench.results.load import ResultFileError

# The one figure that may be infinite: a rate of inf sends every request at once. specbench writes it as
# "inf" (JSON has no Infinity); `vllm bench serve` writes Infinity, which Python reads as a float.
_MAY_BE_INFINITE = frozenset({"requested_rate"})
_INFINITY_WORDS = frozenset({"inf", "Infinity", "+inf"})


class InvalidFigureError(ResultFileError):
    """A result file holds a figure that is not a finite number: the message names the file and the keys."""


def invalid_figures(metrics: Mapping[str, Any]) -> dict[str, str]:
    """Key → what is wrong with it, for every figure that is neither None nor a finite number."""
    problems = {}
    for key, value in metrics.items():
        problem = _problem(key, value)
        if problem is not None:
            problems[key] = problem
    return problems


def check_figures(metrics: Mapping[str, Any], path: Path) -> None:
    """Raise InvalidFigureError, one line naming `path` and every bad key, if any figure is invalid."""
    problems = invalid_figures(metrics)
    if problems:
        listed = ", ".join(f"{key} {problem}" for key, problem in problems.items())
        raise InvalidFigureError(
            f"{path}: {'a figure is' if len(problems) == 1 else 'figures are'} not a finite number "
            f"({listed}): correct or delete {'it' if len(problems) == 1 else 'them'} in the file"
        )


def _problem(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        for position, item in enumerate(value):
            problem = _scalar_problem(key, item)
            if problem is not None:
                return f"[{position}] {problem}"
        return None
    return _scalar_problem(key, value)


def _scalar_problem(key: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return f"is {_shown(value)}"
    if isinstance(value, str):
        if key in _MAY_BE_INFINITE and value in _INFINITY_WORDS:
            return None
        return f"is {_shown(value)}"
    if math.isnan(value):
        return "is NaN"
    if math.isinf(value) and key not in _MAY_BE_INFINITE:
        return f"is {'-' if value < 0 else ''}Infinity"
    return None


def _shown(value: Any) -> str:
    """The value as the file spells it (strings cut short); an object or a nested list by its kind."""
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 40 else text[:39] + "…'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
