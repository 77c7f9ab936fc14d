"""Points of one vLLM engine session are independent: no point is served from the prefix cache by prompts an
earlier point sent (issue 24), on real vLLM (CPU build) with the built-in tiny model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from specbench.cli import main
from specbench.engines.vllm.engine import VllmEngine
from specbench.results.load import load_index, load_result
from specbench.results.model import BenchmarkResult
from specbench.session import prepare as session_prepare
from specbench.session import run as session_run

pytestmark = [pytest.mark.vllm, pytest.mark.slow]
TWO_POINTS = [
    "run", "--engine", "vllm", "--profile", "smoke", "--kv-cache-space", "1", "--max-model-len", "512",
    "--enforce-eager", "--rate", "inf", "--max-concurrency", "1,4", "--num-prompts", "8",
    # vLLM caches whole blocks only (128 tokens on CPU): prompts of several blocks, or nothing could hit.
    "--input-len", "300",
]  # fmt: skip


def two_points(out: Path) -> list[BenchmarkResult]:
    pytest.importorskip("vllm")
    assert main([*TWO_POINTS, "--output-dir", str(out)]) == 0
    (run_dir,) = [path for path in out.iterdir() if path.is_dir()]
    entries = load_index(run_dir / "index.json").entries
    return [load_result(run_dir / str(entry.result_file)) for entry in entries]


def test_the_second_point_of_a_session_gets_no_prefix_cache_hits(tmp_path: Path):
    first, second = two_points(tmp_path)
    for result in (first, second):
        # The counters are read: every prompt token was looked up in the cache, none was found.
        assert result.metrics["prefix_cache_queries"] >= 8 * 300
        assert result.metrics["prefix_cache_hits"] == 0
        assert result.metrics["prefix_cache_hit_rate"] == 0
        assert not any("prefix cache" in warning for warning in result.run.warnings)
    assert second.workload["prompts_drawn_before"] > 0 and second.workload["shared_prefixes"] is False


def test_without_fresh_prompts_and_a_cache_reset_the_second_point_is_served_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """What the session did before issue 24: every point re-sent the first point's prompts."""
    build = session_run.build_workload

    def same_prompts(*args: Any, earlier: int = 0, **kwargs: Any) -> Any:
        return build(*args, **kwargs)

    # Listed points are built before the engine starts (prepare), generated ones between points (run).
    monkeypatch.setattr(session_prepare, "build_workload", same_prompts)
    monkeypatch.setattr(session_run, "build_workload", same_prompts)

    async def refuses(self: VllmEngine) -> bool:
        return False  # as vLLM answers while a request still runs: the cache is kept

    monkeypatch.setattr(VllmEngine, "forget_prompts", refuses)
    first, second = two_points(tmp_path)
    assert first.metrics["prefix_cache_hits"] == 0
    # Every prompt again, its whole blocks served from the cache: two of 128 tokens of its 300.
    assert second.metrics["prefix_cache_hits"] >= 8 * 256
    assert any("prefix cache served" in warning for warning in second.run.warnings)
