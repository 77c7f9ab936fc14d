"""Writes the registry table of docs/METRICS.md from specbench/metrics/registry.py.

Run `python docs/gen_metrics.py` after changing a metric; tests/unit/test_docs.py fails while the file is
out of date.
"""

from pathlib import Path

from specbench.metrics.registry import METRICS, MetricSpec

DOC = Path(__file__).parent / "METRICS.md"
BEGIN, END = "<!-- BEGIN GENERATED: registry -->", "<!-- END GENERATED: registry -->"


def _key(spec: MetricSpec) -> str:
    return f"`mean_/median_/std_/max_/pP_{spec.name}_ms`" if spec.distribution else f"`{spec.name}`"


def _vllm(spec: MetricSpec) -> str:
    if not spec.in_vllm:
        return "—"
    name = f"`{spec.vllm_key}`" if spec.vllm_key else "same"
    return name + (f" (× {spec.vllm_scale:g})" if spec.vllm_scale != 1 else "")


def table() -> str:
    lines = [
        "| group | key | unit | better | sources | vLLM | definition |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for spec in METRICS:
        description = spec.description.replace("|", "/")
        lines.append(
            f"| {spec.group} | {_key(spec)} | {spec.unit} | {spec.better or '—'} | "
            f"{', '.join(spec.sources)} | {_vllm(spec)} | {description} |"
        )
    return "\n".join(lines)


def render(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    DOC.write_text(render(DOC.read_text()))
