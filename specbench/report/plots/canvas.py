"""matplotlib, optional: figures made without pyplot (no global state), one look for every plot."""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specbench.errors import SpecbenchError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MISSING = "plots need matplotlib, which is not installed: pip install 'specbench[plot]'"
# Colour-blind-safe palette (Okabe–Ito); a run keeps its colour in every plot.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
DPI = 120


@dataclass(frozen=True, slots=True)
class Plot:
    name: str  # file stem, e.g. 'ttft_cdf'
    title: str
    figure: Figure

    def save(self, directory: Path) -> Path:
        path = directory / f"{self.name}.png"
        self.figure.savefig(path, dpi=DPI)
        return path

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()


def available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def new_figure(rows: int = 1, *, height: float = 4.5, sharex: bool = False) -> tuple[Figure, list[Any]]:
    """A figure of `rows` stacked axes, laid out so that titles, labels and legends do not overlap."""
    if not available():
        raise SpecbenchError(MISSING)
    # Imported here because matplotlib is an optional extra; nothing else imports it.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, height * rows if rows > 1 else height), layout="constrained")
    axes = figure.subplots(rows, 1, sharex=sharex, squeeze=False)[:, 0]
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    return figure, list(axes)


def colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def legend(figure: Figure, ax: Any) -> None:
    """One legend for the figure, below its axes, where it can never hide a curve."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        # As many columns as the longest label leaves room for across the figure's width, so no label
        # runs past either edge (the constrained layout makes room below, not beside).
        longest = max(len(label) for label in labels)
        fits = max(1, int(figure.get_figwidth() * 72 / (longest * 6.5 + 30)))
        figure.legend(
            handles,
            labels,
            loc="outside lower center",
            ncol=min(len(handles), 3, fits),
            fontsize="small",
            frameon=False,
        )
