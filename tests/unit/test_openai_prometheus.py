"""/metrics text as vLLM writes it → the snapshot both vLLM engines compute their figures from."""

from __future__ import annotations

import pytest

from specbench.engines.openai.prometheus import MetricsFormatError, parse_families, parse_text
from specbench.engines.vllm.metrics import MetricsSnapshot, run_stats

LABELS = 'engine="0",model_name="m"'
OTHER = 'engine="0",model_name="other"'


def exposition(prompt: int, generated: int, drafts: int, draft_tokens: int, per_pos: list[int]) -> str:
    lines = [
        "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.",
        "# TYPE vllm:prompt_tokens_total counter",
        f"vllm:prompt_tokens_total{{{LABELS}}} {prompt}.0",
        f"vllm:prompt_tokens_total{{{OTHER}}} 1000.0",
        "# TYPE vllm:prompt_tokens_created gauge",
        f"vllm:prompt_tokens_created{{{LABELS}}} 1.7e+09",
        "# TYPE vllm:generation_tokens_total counter",
        f"vllm:generation_tokens_total{{{LABELS}}} {generated}.0",
        "# TYPE vllm:spec_decode_num_drafts_total counter",
        f"vllm:spec_decode_num_drafts_total{{{LABELS}}} {drafts}.0",
        "# TYPE vllm:spec_decode_num_draft_tokens_total counter",
        f"vllm:spec_decode_num_draft_tokens_total{{{LABELS}}} {draft_tokens}.0",
        "# TYPE vllm:spec_decode_num_accepted_tokens_total counter",
        f"vllm:spec_decode_num_accepted_tokens_total{{{LABELS}}} {sum(per_pos)}.0",
        "# TYPE vllm:spec_decode_num_accepted_tokens_per_pos_total counter",
        *(
            f'vllm:spec_decode_num_accepted_tokens_per_pos_total{{{LABELS},position="{i}"}} {n}.0'
            for i, n in enumerate(per_pos)
        ),
        "# TYPE vllm:request_queue_time_seconds histogram",
        f'vllm:request_queue_time_seconds_bucket{{{LABELS},le="0.5"}} {drafts}.0',
        f'vllm:request_queue_time_seconds_bucket{{{LABELS},le="+Inf"}} {drafts}.0',
        f"vllm:request_queue_time_seconds_count{{{LABELS}}} {drafts}.0",
        f"vllm:request_queue_time_seconds_sum{{{LABELS}}} {drafts * 0.004}",
        "# TYPE vllm:kv_cache_usage_perc gauge",
        f"vllm:kv_cache_usage_perc{{{LABELS}}} 0.25",
        "# TYPE python_gc_objects_collected_total counter",
        'python_gc_objects_collected_total{generation="0"} 5.0',
    ]
    return "\n".join(lines) + "\n"


BEFORE = exposition(prompt=100, generated=40, drafts=10, draft_tokens=30, per_pos=[8, 5, 2])
AFTER = exposition(prompt=300, generated=140, drafts=50, draft_tokens=150, per_pos=[40, 25, 10])


@pytest.mark.parametrize("parse", [parse_families, parse_text], ids=["prometheus_client", "fallback"])
def test_figures_from_two_scrapes_are_the_measured_window_of_one_model(parse) -> None:
    before = MetricsSnapshot.from_families(parse(BEFORE), labels={"model_name": "m"})
    after = MetricsSnapshot.from_families(parse(AFTER), labels={"model_name": "m"})
    figures = run_stats(before, after, None)
    assert figures["engine_prompt_tokens"] == 200  # the other model's 1000 tokens are not ours
    assert figures["engine_generation_tokens"] == 100
    assert figures["spec_num_drafts"] == 40
    assert figures["spec_num_draft_tokens"] == 120
    assert figures["spec_num_accepted_tokens"] == 60
    assert figures["spec_acceptance_rate"] == pytest.approx(0.5)
    assert figures["spec_mean_acceptance_length"] == pytest.approx(1 + 60 / 40)
    assert figures["spec_acceptance_per_position"] == pytest.approx([32 / 40, 20 / 40, 8 / 40])
    assert figures["mean_queue_time_ms"] == pytest.approx(4.0)


def test_both_parsers_read_the_same_snapshot() -> None:
    ours = MetricsSnapshot.from_families(parse_text(AFTER))
    theirs = MetricsSnapshot.from_families(parse_families(AFTER))
    assert ours == theirs


def test_escaped_label_values_are_unescaped() -> None:
    (family,) = parse_text('# TYPE x_total counter\nx_total{a="q\\"uote\\\\"} 1\n')
    assert family.name == "x" and family.samples[0].labels == {"a": 'q"uote\\'}


@pytest.mark.parametrize("parse", [parse_families, parse_text], ids=["prometheus_client", "fallback"])
def test_text_that_is_not_prometheus_is_refused(parse) -> None:
    with pytest.raises(MetricsFormatError):
        parse("<html>not metrics</html>\n")


def test_a_registry_read_in_process_and_its_text_exposition_give_the_same_snapshot() -> None:
    """The in-process vLLM engine reads prometheus_client's registry, the openai engine its /metrics text."""
    client = pytest.importorskip("prometheus_client")  # comes with vLLM, which CI installs
    CollectorRegistry, Counter, Histogram = client.CollectorRegistry, client.Counter, client.Histogram
    generate_latest = client.generate_latest

    registry = CollectorRegistry()
    labels = ["engine", "model_name"]
    Counter("vllm:generation_tokens", "", labels, registry=registry).labels("0", "m").inc(42)
    per_pos = Counter(
        "vllm:spec_decode_num_accepted_tokens_per_pos", "", [*labels, "position"], registry=registry
    )
    for position, n in enumerate([7, 3]):
        per_pos.labels("0", "m", str(position)).inc(n)
    queue = Histogram("vllm:request_queue_time_seconds", "", labels, registry=registry)
    for seconds in (0.1, 0.3):
        queue.labels("0", "m").observe(seconds)
    in_process = MetricsSnapshot.from_families(registry.collect())
    served = MetricsSnapshot.from_families(parse_families(generate_latest(registry).decode()))
    assert in_process == served
    assert in_process.counters == {"vllm:generation_tokens": 42}
    assert in_process.vectors == {"vllm:spec_decode_num_accepted_tokens_per_pos": [7, 3]}
    assert in_process.histograms["vllm:request_queue_time_seconds"] == (2, pytest.approx(0.4))
