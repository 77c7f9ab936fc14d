"""`specbench plot` and the plot builders: files written from real records, notes for what is missing,
one line when matplotlib is not installed. (The images themselves were looked at; see docs/COMPARE.md.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specbench.cli import main
from specbench.records import RequestRecord
from specbench.report import plots as plots_module
from specbench.results.gpus import GpuDevice, GpuSection, GpuTimeline
from tests.results_factory import make_result, save

PNG = b"\x89PNG\r\n\x1a\n"


def write_run(directory: Path, name: str, *, engine: str, rate: float, gap: float) -> Path:
    """A result with per-request records beside it: 20 requests of 8 tokens, `gap` seconds apart."""
    records = []
    for i in range(20):
        sent = i / rate
        chunks = [sent + 0.05 + k * gap for k in range(8)]
        records.append(
            RequestRecord(i, sent, sent, sent, 16, 8, chunks, [1] * 8, chunks[-1], 8).to_json_dict()
        )
    (directory / f"{name}_requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = make_result(engine=engine, rate=rate, output_throughput=8 * rate)
    result.run.requests_file = f"{name}_requests.jsonl"
    return save(result, directory / f"{name}.json")


def test_plot_writes_cdfs_load_and_sweep_curve_and_notes_what_is_missing(tmp_path: Path, capsys) -> None:
    pytest.importorskip("matplotlib")
    runs = [write_run(tmp_path, f"vllm_{r:g}", engine="vllm", rate=r, gap=0.01 * r) for r in (2.0, 4.0, 8.0)]
    runs.append(write_run(tmp_path, "transformers", engine="transformers", rate=4.0, gap=0.05))
    out = tmp_path / "plots"
    assert main(["plot", *map(str, runs), "--output", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "e2el_cdf.png",
        "itl_cdf.png",
        "latency_vs_throughput.png",
        "throughput_over_time.png",
        "tpot_cdf.png",
        "ttft_cdf.png",
    ]
    for path in out.iterdir():
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000
    assert "no run has a GPU timeline" in capsys.readouterr().out


def gpu_result(engine: str, busy: float, watts: float):
    """A run with the GPU section specbench's sampler writes: a timeline from 2 s of warm-up to 20 s."""
    times = [t / 4 for t in range(-8, 81)]
    result = make_result(engine=engine)
    result.gpus = GpuSection(
        interval_s=0.25,
        devices=[GpuDevice(index=0, uuid="GPU-0", name="NVIDIA H200")],
        timeline=GpuTimeline(
            t_s=times,
            columns={
                "gpu_utilization_pct": [[busy if 0 <= t <= 18 else 3 for t in times]],
                "power_w": [[watts if 0 <= t <= 18 else 110 for t in times]],
            },
        ),
    )
    return result


def test_gpu_plot_is_drawn_from_the_timeline(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    runs = [
        save(gpu_result("transformers", 35, 280), tmp_path / "t.json"),
        save(gpu_result("vllm", 97, 690), tmp_path / "v.json"),
    ]
    assert main(["plot", *map(str, runs), "-o", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "gpu_over_time.png").read_bytes()[:8] == PNG


def test_results_with_nothing_to_draw_are_one_error_after_the_notes(capsys) -> None:
    pytest.importorskip("matplotlib")
    guidellm = Path(__file__).parent.parent / "data" / "foreign" / "guidellm_benchmarks.json"
    assert main(["plot", str(guidellm)]) == 2
    captured = capsys.readouterr()
    assert "no per-request records" in captured.out
    assert captured.err.startswith("error: nothing to plot")


def test_without_matplotlib_plot_is_one_line_and_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(plots_module, "available", lambda: False)
    path = save(make_result(), tmp_path / "r.json")
    assert main(["plot", str(path), "-o", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: plots need matplotlib, which is not installed: pip install 'specbench[plot]'"
    assert not (tmp_path / "p").exists()


def test_html_page_carries_the_plots_inline(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    runs = [write_run(tmp_path, name, engine=name, rate=4.0, gap=0.02) for name in ("transformers", "vllm")]
    page = tmp_path / "report.html"
    assert (
        main(
            [
                "compare",
                *map(str, runs),
                "--html",
                str(page),
                "--format",
                "json",
                "-o",
                str(tmp_path / "c.json"),
            ]
        )
        == 0
    )
    text = page.read_text()
    # four CDFs, the load plot, and the two runs as two labelled points against throughput
    assert text.count('src="data:image/png;base64,') == 6
    assert '<td class="ratio same">1.00×</td>' in text  # the same throughput: neither better nor worse


def test_per_window_figures_of_a_ramp_are_plotted_over_time(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = make_result(engine="vllm")
    result.windows = [
        {
            "start_s": 10.0 * k,
            "end_s": 10.0 * (k + 1),
            "sent_rate": 2.0 * (k + 1),
            "median_ttft_ms": 20.0 * k**2,
            "p99_ttft_ms": 40.0 * k**2,
        }
        for k in range(6)
    ]
    run = save(result, tmp_path / "ramp.json")
    assert main(["plot", str(run), "-o", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "latency_over_time.png").read_bytes()[:8] == PNG
