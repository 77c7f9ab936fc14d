"""The echo engine's simulated speculative decoding: chunks, counters and step times known in advance, so
the speculative report of an echo run can be checked against figures computed by hand."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from specbench.cli import main
from specbench.config import EchoConfig, EngineName, Method, RunConfig, SpeculativeConfig
from specbench.engines.base import Completion, EngineRequest, TokenChunk
from specbench.engines.echo import EchoEngine
from specbench.engines.echo_speculation import EchoSpeculation


def speculating(
    k: int = 3, length: float | None = None, rates: list[float] | None = None, **echo
) -> EchoEngine:
    spec = SpeculativeConfig(
        num_speculative_tokens=k, synthetic_acceptance_length=length, synthetic_acceptance_rates=rates
    )
    config = RunConfig(
        engine=EngineName.echo, method=Method.speculative, speculative=spec, echo=EchoConfig(**echo)
    )
    return EchoEngine(config)


def stream(engine: EchoEngine, max_tokens: int) -> tuple[list[TokenChunk], Completion]:
    async def run() -> list:
        req = EngineRequest(request_id=0, prompt_token_ids=[1, 2, 3], max_tokens=max_tokens)
        return [event async for event in engine.generate(req)]

    events = asyncio.run(run())
    return events[:-1], events[-1]


def test_acceptance_length_three_with_k_three_yields_three_tokens_a_step():
    engine = speculating(k=3, length=3.0)
    chunks, done = stream(engine, 13)
    # The first token comes from the prefill; then 4 steps of 1 bonus + 2 accepted tokens.
    assert [c.num_tokens for c in chunks] == [1, 3, 3, 3, 3]
    assert (done.drafted_tokens, done.accepted_tokens, done.target_forward_passes) == (12, 8, 4)
    figures = asyncio.run(engine.figures())
    assert figures["spec_num_drafts"] == 4
    assert figures["spec_mean_acceptance_length"] == 3.0
    assert figures["spec_acceptance_per_position"] == [1.0, 1.0, 0.0]


def test_last_step_is_cut_at_max_tokens():
    chunks, done = stream(speculating(k=3, length=4.0), 6)
    assert [c.num_tokens for c in chunks] == [1, 4, 1]
    assert done.output_tokens == 6


def test_fractional_rates_are_met_over_many_steps_and_accepted_positions_are_a_prefix():
    sim = EchoSpeculation(rates=[0.9, 0.6, 0.25], draft_s=0, verify_s=0, load_s_per_token=0)
    counts = [sim.next_accepted() for _ in range(1000)]
    assert [n / 1000 for n in sim.accepted_per_position] == pytest.approx([0.9, 0.6, 0.25], abs=0.005)
    assert sum(counts) == sum(sim.accepted_per_position)  # each step accepts positions 0 .. n-1


def test_a_length_becomes_rates_as_vllm_resolves_it():
    assert SpeculativeConfig(num_speculative_tokens=3, synthetic_acceptance_length=2.5).synthetic_rates() == [
        1.0,
        0.5,
        0.0,
    ]
    assert (
        SpeculativeConfig(num_speculative_tokens=3, synthetic_acceptance_length=4).synthetic_rates()
        == [1.0] * 3
    )


def test_step_time_is_draft_plus_verification_plus_load_per_token_computed():
    sim = EchoSpeculation(rates=[1, 1, 0], draft_s=0.002, verify_s=0.010, load_s_per_token=0.001)
    # 8 requests in service, each verifying K + 1 = 4 tokens: 2 + 10 + 8 × 4 × 1 ms.
    assert sim.step_s(8) == pytest.approx(0.044)


def expected_speedup(k: int, length: int, c: int) -> float:
    """Hand arithmetic of the run below: 5 ms to the first token, then 12 more tokens.
    AR: a token takes 10 ms + 2 ms per request in service (c).
    Speculative: a step takes 2 ms drafting + 10 ms verifying + 2 ms per token computed per request (K + 1),
    and yields `length` tokens, so 12 / length steps."""
    ar = 5 + 12 * (10 + 2 * c)
    spec = 5 + 12 / length * (2 + 10 + 2 * c * (k + 1))
    return ar / spec


def test_echo_report_matches_the_hand_computed_speedups_break_even_and_best_k(tmp_path: Path):
    args = ["run", "--engine", "echo", "--method", "target-ar,speculative", "--output-dir", str(tmp_path)]
    args += ["--output-len", "13", "--warmup", "0", "--settle-s", "0", "--no-save-requests"]
    args += ["--echo-ttft-ms", "5", "--echo-token-delay-ms", "10", "--echo-draft-ms", "2"]
    args += ["--echo-load-ms-per-token", "2", "--max-concurrency", "1,16", "--prompts-per-concurrency", "1"]
    args += ["--num-speculative-tokens", "1,3", "--synthetic-acceptance", "2,3"]
    assert main(args) == 0
    report = _report(tmp_path)
    measured = {(row["variant"], row["load"]["max_concurrency"]): row["speedup"] for row in report["rows"]}
    # K 1 cannot reach 3 tokens a step: that pair is left out of the plan.
    variants = {(1, 2), (3, 2), (3, 3)}
    assert set(measured) == {(f"K {k} · acceptance {n}", c) for k, n in variants for c in (1, 16)}
    for k, n in variants:
        for c in (1, 16):
            # Timers on a shared machine run late, a little; the margins below are far wider.
            assert measured[(f"K {k} · acceptance {n}", c)] == pytest.approx(
                expected_speedup(k, n, c), rel=0.08
            )
    verdicts = {v["variant"]: (v["break_even"], v["first_loss"]) for v in report["variants"]}
    assert verdicts == {
        "K 1 · acceptance 2": ("not reached", None),  # 1.50× then 1.10×
        "K 3 · acceptance 2": ("concurrency 1", "concurrency 16"),  # 1.19× then 0.60×
        "K 3 · acceptance 3": ("concurrency 1", "concurrency 16"),  # 1.77× then 0.90×
    }
    best = [(b["load_label"], b["best"]) for b in report["best"]]
    assert best == [("concurrency 1", "K 3 · acceptance 3"), ("concurrency 16", "K 1 · acceptance 2")]
    # Where the time goes: a K 3 step at concurrency 16 is 2 + 10 + 2 × 16 × 4 = 140 ms against AR's 42 ms.
    row = next(
        r
        for r in report["rows"]
        if r["variant"] == "K 3 · acceptance 3" and r["load"]["max_concurrency"] == 16
    )
    assert row["step_ms"] == pytest.approx(140, rel=0.08)
    assert row["ar_token_ms"] == pytest.approx(42, rel=0.08)
    assert row["mean_acceptance_length"] == 3.0


def _report(directory: Path) -> dict:
    (run_dir,) = [p for p in directory.iterdir() if p.is_dir()]
    return json.loads((run_dir / "index.json").read_text())["summary"]["speculative"]
