"""Writes the table of docs/COMPARE.md that says where each figure of another tool's file comes from, from
the readers' own mapping tables (specbench/results/readers/) and the metric registry.

Run `python docs/gen_compare.py` after changing a reader; tests/unit/test_compare_docs.py fails while the
file is out of date.
"""

from pathlib import Path

from specbench.metrics.registry import METRICS, MetricSpec
from specbench.results.readers import aiperf, guidellm

DOC = Path(__file__).parent / "COMPARE.md"
BEGIN, END = "<!-- BEGIN GENERATED: readers -->", "<!-- END GENERATED: readers -->"
SPECULATIVE_SUMS = ("spec_num_drafts", "spec_num_draft_tokens", "spec_num_accepted_tokens")
SPECULATIVE_DERIVED = ("spec_acceptance_rate", "spec_mean_acceptance_length", "spec_acceptance_per_position")
# Figures the readers take from a run's description rather than a metric table.
DESCRIBED = {
    "duration": ("`duration`", "`benchmarks[].duration`", None),
    "requested_rate": (None, "`config.strategy.rate` (`inf` for throughput)", "`input_config.phases[].rate`"),
}


def _vllm(spec: MetricSpec) -> str:
    if not spec.in_vllm:
        return "—"
    key = spec.vllm_key or spec.name
    shown = f"`mean_/median_/pNN_{key}_ms`" if spec.distribution else f"`{key}`"
    return shown + (f" ÷ {spec.vllm_scale:g}" if spec.vllm_scale != 1 else "")


def _guidellm(spec: MetricSpec) -> str:
    name = spec.name
    if name in guidellm.DISTRIBUTIONS:
        theirs, factor = guidellm.DISTRIBUTIONS[name]
        return f"`{theirs}.successful`" + (f" × {factor:g}" if factor != 1 else "")
    if name in guidellm.REQUEST_TOTALS:
        return f"`request_totals.{guidellm.REQUEST_TOTALS[name]}`"
    if name in guidellm.FIGURES:
        metric, stat = guidellm.FIGURES[name]
        return f"`{metric}.successful.{stat}`"
    if name in SPECULATIVE_SUMS:
        return "Σ per request `response_metrics.speculative_decoding` (every request kept)"
    if name in SPECULATIVE_DERIVED:
        return "from the summed counts and `acceptance_histogram`s"
    return DESCRIBED.get(name, (None, None, None))[1] or "—"


def _aiperf(spec: MetricSpec) -> str:
    name = spec.name
    if name in aiperf.DISTRIBUTIONS:
        return f"`{aiperf.DISTRIBUTIONS[name]}` (avg, p50, std, max, pNN)"
    if name in aiperf.FIGURES:
        return f"`{aiperf.FIGURES[name]}.avg`"
    if name in aiperf.SPECULATIVE_TOTALS:
        return f"`{aiperf.SPECULATIVE_TOTALS[name]}.avg`"
    if name in SPECULATIVE_DERIVED:
        return f"from the speculative totals and `{aiperf.ACCEPTANCE_HISTOGRAM}`"
    return DESCRIBED.get(name, (None, None, None))[2] or "—"


def table() -> str:
    lines = [
        "| specbench | `vllm bench serve --save-result` | guidellm `benchmarks[].metrics` "
        "| AIPerf `profile_export_aiperf.json` |",
        "| --- | --- | --- | --- |",
    ]
    for spec in METRICS:
        cells = [_vllm(spec), _guidellm(spec), _aiperf(spec)]
        if spec.name in DESCRIBED and DESCRIBED[spec.name][0]:
            cells[0] = DESCRIBED[spec.name][0]
        if all(cell == "—" for cell in cells):
            continue
        key = f"`{spec.name}` ({spec.unit})"
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    DOC.write_text(render(DOC.read_text()))
