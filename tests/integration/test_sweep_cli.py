"""Sweeps and the SLO search through the real CLI, in one engine session.

The echo engine with slots is a queue whose capacity is known in closed form (slots / service time), so the
saturation throughput and the knee under given SLOs are derived here from the model, not hard-coded.
Tolerances are loose: a shared 2-core machine runs timers late, which only ever lowers the capacity seen.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from specbench.cli import main
from specbench.config import EngineName, RunConfig
from specbench.engines.args import EchoArgs
from specbench.engines.base import EngineRequest, StreamEvent
from specbench.engines.echo import EchoEngine
from specbench.engines.registry import ENGINES, EngineSpec
from specbench.results.load import load_index, load_result
from specbench.results.sweep import SessionSummary
from specbench.runner.dispatcher import CANCELLED
from specbench.runner.record_writer import read_records

# Echo as an M/D/c queue: 4 slots, a request takes 10 ms to its first token and 9 more tokens 10 ms apart.
SLOTS, TTFT_MS, TOKEN_DELAY_MS, OUTPUT_LEN = 4, 10.0, 10.0, 10
SERVICE_S = (TTFT_MS + (OUTPUT_LEN - 1) * TOKEN_DELAY_MS) / 1000
CAPACITY = SLOTS / SERVICE_S  # requests per second
ECHO_QUEUE = [
    "--engine",
    "echo",
    "--echo-slots",
    str(SLOTS),
    "--echo-ttft-ms",
    str(TTFT_MS),
    "--echo-token-delay-ms",
    str(TOKEN_DELAY_MS),
    "--output-len",
    str(OUTPUT_LEN),
    "--input-len",
    "16",
    "--settle-s",
    "0.2",
]


def run_cli(*args: str) -> int:
    return main(["run", *args])


def only_run(out: Path) -> Path:
    (run_dir,) = [path for path in out.iterdir() if path.is_dir()]
    return run_dir


def sessions(run_dir: Path) -> list[SessionSummary]:
    index = load_index(run_dir / "index.json")
    return [SessionSummary.model_validate(session) for session in index.summary["sessions"]]


def mdc_knee(
    *, slots: int, service_s: float, max_wait_s: float, target: float, arrivals: int = 40_000
) -> float:
    """The highest Poisson rate at which `target` of the requests wait at most `max_wait_s` for a slot, in an
    M/D/c queue (first come first served, every service `service_s` long), by simulating the queue.

    With equal service times the slot a request gets is the one taken `slots` requests earlier, so its
    service starts at max(arrival, start of request n − slots + service time).
    """
    gaps = np.random.default_rng(0).exponential(1.0, arrivals)

    def meets_target(rate: float) -> bool:
        arrival = np.cumsum(gaps / rate)
        start = np.empty(arrivals)
        for n in range(arrivals):
            start[n] = arrival[n] if n < slots else max(arrival[n], start[n - slots] + service_s)
        return float(np.mean(start - arrival <= max_wait_s)) >= target

    low, high = 0.0, slots / service_s
    for _ in range(25):
        middle = (low + high) / 2
        low, high = (middle, high) if meets_target(middle) else (low, middle)
    return low


def test_rate_list_points_measure_what_single_runs_measure(tmp_path: Path):
    """Same seed and rate: the same prompts and schedule; each point's engine figures and records its own."""
    common = [*ECHO_QUEUE, "--num-prompts", "30", "--seed", "5"]
    assert run_cli(*common, "--rate", "20,40", "--output-dir", str(tmp_path / "sweep")) == 0
    assert run_cli(*common, "--rate", "40", "--output", str(tmp_path / "single.json")) == 0
    run_dir = only_run(tmp_path / "sweep")
    index = load_index(run_dir / "index.json")
    assert index.kind == "sweep"
    assert [entry.settings["workload.rate"] for entry in index.entries] == [20.0, 40.0]
    swept = read_records(run_dir / "benchmark_results_target_ar_echo_rate40_requests.jsonl")
    single = read_records(tmp_path / "single_requests.jsonl")
    # The files list requests as they finish; what was sent is compared request by request.
    assert sorted((r.request_id, r.scheduled_s, r.prompt_tokens) for r in swept) == sorted(
        (r.request_id, r.scheduled_s, r.prompt_tokens) for r in single
    )
    for entry in index.entries:
        assert entry.result_file is not None
        result = load_result(run_dir / entry.result_file)
        records = read_records(run_dir / entry.result_file.replace(".json", "_requests.jsonl"))
        assert sorted(r.request_id for r in records) == list(range(30))
        # Reset after each point's warm-up: the engine counted this point's requests, not the session's.
        assert result.metrics["echo_requests"] == 30
        assert result.metrics["echo_output_tokens"] == 30 * OUTPUT_LEN


def test_sweep_measures_the_saturation_throughput_then_rates_up_to_it(tmp_path: Path):
    code = run_cli(
        *ECHO_QUEUE, "--num-prompts", str(SLOTS * 20), "--sweep", "3", "--output-dir", str(tmp_path),
        "--probe-seconds", "3", "--probe-requests", "60",
    )  # fmt: skip
    assert code == 0
    run_dir = only_run(tmp_path)
    index = load_index(run_dir / "index.json")
    assert index.kind == "sweep"
    (session,) = sessions(run_dir)
    saturation = session.saturation_throughput
    assert saturation is not None and session.saturation_burst_throughput is not None
    # A sustained overload keeps every slot busy: the capacity, less what late timers cost.
    assert session.saturation_sustained
    assert 0.7 * CAPACITY <= saturation <= 1.02 * CAPACITY
    rates = [entry.settings["workload.rate"] for entry in index.entries]
    assert rates[0] == "inf"
    assert rates[1] == pytest.approx(1.5 * session.saturation_burst_throughput, rel=0.01)  # the overload
    assert rates[2:] == pytest.approx([saturation / 3, 2 * saturation / 3, saturation], rel=0.01)
    assert session.entries == [0, 1, 2, 3, 4] and len(session.point_wall_s) == 5
    assert session.engine_start_s is not None and session.restart_cost_s is not None
    lowest = load_result(run_dir / index.entries[2].result_file)
    # Well below capacity the engine serves what is sent.
    assert lowest.metrics["request_throughput"] == pytest.approx(rates[2], rel=0.3)


def test_find_max_rate_lands_on_the_knee_of_a_known_queue_and_ends_overloaded_probes_early(tmp_path: Path):
    """TTFT = wait for a slot + 10 ms; at most 95 % of requests may wait longer than one service time."""
    max_wait_s = SERVICE_S
    slo_ttft_ms = TTFT_MS + max_wait_s * 1000
    knee = mdc_knee(slots=SLOTS, service_s=SERVICE_S, max_wait_s=max_wait_s, target=0.95)
    window_s = 4.0
    began = time.perf_counter()
    code = run_cli(
        *ECHO_QUEUE,
        "--find-max-rate",
        "--slo-ttft-ms",
        str(slo_ttft_ms),
        "--rate",
        str(round(3 * CAPACITY)),  # start far above capacity: an exponential search down
        "--rate-precision",
        "10%",
        "--probe-seconds",
        str(window_s),
        "--probe-requests",
        "60",
        "--output-dir",
        str(tmp_path),
    )
    elapsed = time.perf_counter() - began
    assert code == 0
    run_dir = only_run(tmp_path)
    assert load_index(run_dir / "index.json").kind == "slo-search"
    (session,) = sessions(run_dir)
    search = session.search
    assert search is not None and search.max_rate is not None, search
    assert search.stop_reason.startswith("converged")
    low, high = search.bracket
    assert high is not None and high <= low * 1.1 + 1e-9
    # The rate is named on its confirmation: a probe 4× as long (stepped down while that failed).
    chosen = next(probe for probe in search.probes if probe.entry == search.chosen_entry)
    assert chosen.confirmation and chosen.rate == search.max_rate
    assert search.confirmation is not None and search.confirmation.entry == chosen.entry
    # The load the engine met there lies at the knee of the model (less what a loaded machine's late timers
    # take off the capacity): the rate the probe's Poisson arrivals really went out at, not the one asked.
    assert chosen.sent_rate is not None
    assert 0.7 * knee <= chosen.sent_rate <= 1.1 * knee, (chosen.sent_rate, search.max_rate, knee)
    overloaded = search.probes[0]
    assert overloaded.rate > CAPACITY and overloaded.verdict == "fail"
    assert overloaded.stopped_early is not None
    assert overloaded.duration_s is not None and overloaded.duration_s < overloaded.planned_s
    assert chosen.verdict == "pass" and chosen.goodput_fraction >= 0.95
    # Nothing ran much longer than its window: the search is one probe after another in one session.
    assert elapsed < sum(probe.planned_s + 3 for probe in search.probes) + 30


class _BreaksAtSecondPoint(EchoEngine):
    """Echo whose engine figures cannot be read after the second point (a fake for the failure path)."""

    def __init__(self, config: RunConfig) -> None:
        super().__init__(config)
        self.points = 0

    async def figures(self) -> dict[str, Any]:
        self.points += 1
        if self.points == 2:
            raise RuntimeError("CUDA out of memory")
        return await super().figures()


class _DiesAfterFirstPoint(EchoEngine):
    """Echo that stops serving for good once its first point is measured (a fake for the failure path)."""

    def __init__(self, config: RunConfig) -> None:
        super().__init__(config)
        self.dead = False

    async def figures(self) -> dict[str, Any]:
        figures = await super().figures()
        self.dead = True
        return figures

    async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        if self.dead:
            raise RuntimeError("engine core died")
        async for event in super().generate(request):
            yield event


def _use_echo(monkeypatch: pytest.MonkeyPatch, engine: type[EchoEngine]) -> None:
    monkeypatch.setitem(
        ENGINES, EngineName.echo, EngineSpec(EngineName.echo, engine, False, "echo", args=EchoArgs)
    )


def test_a_point_that_breaks_is_recorded_and_the_sweep_goes_on(tmp_path: Path, monkeypatch, capsys):
    _use_echo(monkeypatch, _BreaksAtSecondPoint)
    code = run_cli(
        "--engine", "echo", "--num-prompts", "10", "--rate", "50,60,70", "--output-dir", str(tmp_path)
    )
    assert code == 1
    index = load_index(only_run(tmp_path) / "index.json")
    assert [entry.status for entry in index.entries] == ["completed", "failed", "completed"]
    assert index.entries[1].error == "RuntimeError: CUDA out of memory"
    assert index.entries[1].result_file is None
    assert "CUDA out of memory" in capsys.readouterr().err


def test_once_the_engine_is_dead_the_remaining_points_fail_fast_with_its_reason(tmp_path: Path, monkeypatch):
    _use_echo(monkeypatch, _DiesAfterFirstPoint)
    began = time.perf_counter()
    code = run_cli(
        "--engine", "echo", "--num-prompts", "10", "--rate", "50,60,70,80", "--output-dir", str(tmp_path)
    )
    assert time.perf_counter() - began < 30
    assert code == 1
    index = load_index(only_run(tmp_path) / "index.json")
    second = load_result(only_run(tmp_path) / index.entries[1].result_file)
    assert second.metrics["completed"] == 0 and second.metrics["failed"] == 10
    skipped = index.entries[2:]
    assert [entry.status for entry in skipped] == ["failed", "failed"]
    assert skipped[0].error == skipped[1].error
    assert "engine core died" in skipped[0].error and "rate 60" in skipped[0].error


def test_sweep_on_the_tiny_transformers_model(tiny_models, tmp_path: Path):
    code = run_cli(
        "--model",
        str(tiny_models.target),
        "--num-prompts",
        "6",
        "--input-len",
        "12",
        "--output-len",
        "6",
        "--warmup",
        "1",
        "--sweep",
        "2",
        "--settle-s",
        "0",
        "--probe-seconds",
        "2",
        "--probe-requests",
        "4",
        "--output-dir",
        str(tmp_path),
    )
    assert code == 0
    run_dir = only_run(tmp_path)
    index = load_index(run_dir / "index.json")
    # The burst, sustained overloads (2 s, rate mode) until one saturates the engine — one, or a second at
    # twice the rate where a busy machine made the burst slow — then the two rates.
    assert len(index.entries) in (4, 5)
    assert [entry.status for entry in index.entries] == ["completed"] * len(index.entries)
    (session,) = sessions(run_dir)
    assert session.saturation_throughput is not None and session.saturation_throughput > 0
    for entry in [index.entries[0], *index.entries[-2:]]:
        result = load_result(run_dir / entry.result_file)
        assert result.metrics["completed"] == 6
    assert (
        json.loads((run_dir / index.entries[0].result_file).read_text())["engine"]["name"] == "transformers"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sweep", "3", "--rate", "1,2"], "give --rate and --max-concurrency one value each"),
        (["--sweep", "3", "--output", "x.json"], "--sweep makes several results"),
        (["--find-max-rate", "--slo-ttft-ms", "100", "--rate-precision", "five"], "--rate-precision 'five'"),
        (["--find-max-rate", "--slo-ttft-ms", "100", "--rate-precision", "150%"], "give a percentage"),
        (["--find-max-rate"], "needs at least one SLO"),
    ],
)
def test_bad_sweep_input_exits_2_with_one_line(args, message, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli("--engine", "echo", *args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_search_goes_on_after_a_probe_it_stopped_early(tmp_path: Path):
    """A real engine: the probe at saturation is stopped with requests in flight (aborted in vLLM); the
    engine drains them and the next probe is served in the same engine session."""
    pytest.importorskip("vllm")
    code = run_cli(
        "--engine",
        "vllm",
        "--profile",
        "smoke",
        "--kv-cache-space",
        "1",
        "--max-model-len",
        "512",
        "--enforce-eager",
        "--rate",
        "inf",
        "--find-max-rate",
        "--slo-ttft-ms",
        "5",  # out of a CPU's reach at saturation: misses pile up at once
        "--max-probes",
        "2",
        "--probe-seconds",
        "3",
        "--probe-requests",
        "10",
        "--output-dir",
        str(tmp_path),
    )
    assert code == 0
    run_dir = only_run(tmp_path)
    index = load_index(run_dir / "index.json")
    (session,) = sessions(run_dir)
    assert session.search is not None
    first, second = session.search.probes
    # The burst and the sustained overloads that measure saturation (one more while the engine keeps up),
    # then the first probe, stopped early.
    statuses = [entry.status for entry in index.entries]
    assert first.entry is not None and first.entry >= 2
    assert statuses[: first.entry + 1] == ["completed"] * first.entry + ["interrupted"]
    assert first.stopped_early is not None and first.duration_s < first.planned_s
    # The next probe's requests reached the engine and were served; any error is our own cancellation.
    entry = index.entries[second.entry]
    records = read_records(run_dir / entry.result_file.replace(".json", "_requests.jsonl"))
    assert any(record.success for record in records)
    assert {record.error for record in records if not record.success} <= {CANCELLED}


def test_ctrl_c_during_a_probe_ends_the_search_and_keeps_what_it_found(tmp_path: Path):
    command = [
        sys.executable,
        "-m",
        "specbench",
        "run",
        *ECHO_QUEUE,
        "--find-max-rate",
        "--slo-ttft-ms",
        "1000",
        "--rate",
        "5",
        "--probe-seconds",
        "60",
        "--output-dir",
        str(tmp_path),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("*/*_requests.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stopped_at = time.monotonic()
    output, _ = process.communicate(timeout=30)
    assert time.monotonic() - stopped_at < 10, output
    assert process.returncode == 130, output
    assert "Traceback" not in output
    run_dir = only_run(tmp_path)
    index = load_index(run_dir / "index.json")
    assert [entry.status for entry in index.entries] == ["interrupted"]
    (session,) = sessions(run_dir)
    assert session.search is not None
    assert session.search.stop_reason == "interrupted before the search finished"
    # The user stopped the probe, not the search: it decides nothing.
    assert session.search.probes[0].verdict == "interrupted"
    assert session.search.bracket == [None, None]
