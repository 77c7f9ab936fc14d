"""The typed result of one measured point, and the index that ties the results of one invocation together.

In the JSON file the metrics stay flat at the top level under vLLM's names (`mean_ttft_ms`, …), beside
the sections; `BenchmarkResult.to_json_dict` and `from_json_dict` convert between the two shapes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from specbench.metrics.registry import MetricValue, spec_for_key
from specbench.results.gpus import GpuSection

SCHEMA_VERSION = "2.0"
INDEX_SCHEMA_VERSION = "1.0"

# incomplete: every figure was measured, but some of the run's files were not written (a full disk).
RunStatus = Literal["completed", "interrupted", "incomplete", "failed"]
IndexKind = Literal["head-to-head", "sweep", "slo-search", "single"]


class _Section(BaseModel):
    # Files from a newer minor version may carry fields this one does not know: keep them, do not fail.
    model_config = ConfigDict(extra="allow")


class RunSection(_Section):
    """What was run, when, and how it ended."""

    id: str = Field(description="Shared by every result of one invocation (a sweep, a head-to-head).")
    status: RunStatus
    started_at: str | None = Field(None, description="ISO 8601 time of the measured window's start.")
    specbench_version: str | None = None
    label: str | None = Field(None, description="This point within its invocation, e.g. 'rate 4 req/s'.")
    requests_file: str | None = Field(None, description="Per-request records, beside the result.")
    engine_log: str | None = Field(None, description="The engine's own log, beside the result.")
    num_not_sent: int = 0
    token_count_checks: dict[str, int] | None = Field(
        None, description="What the checks of output-token counts found (metrics/token_counts.py)."
    )
    error: str | None = Field(None, description="Why a failed point produced no measurement.")
    notes: list[str] = []
    warnings: list[str] = []


class EngineSection(_Section):
    """The engine as it described itself once started: the settings it really used."""

    name: str
    version: str | None = None
    model: str
    method: str
    draft_model: str | None = None
    settings: dict[str, Any] = {}
    notes: list[str] = []


class BenchmarkResult(BaseModel):
    """One measured point. `source_format` says which tool wrote the file it was loaded from."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    run: RunSection
    engine: EngineSection
    workload: dict[str, Any] = {}
    metrics: dict[str, MetricValue] = {}
    # Per prompt category (metrics/categories.py), when the dataset gives categories.
    categories: dict[str, dict[str, MetricValue]] | None = None
    gpus: GpuSection | None = None
    # Figures per time window (sent rate, throughput, TTFT/TPOT percentiles) and, for conversations, per turn.
    windows: list[dict[str, Any]] | None = None
    turns: list[dict[str, Any]] | None = None
    config: dict[str, Any] = {}
    config_sources: dict[str, str] = {}
    environment: dict[str, Any] = {}
    other: dict[str, Any] = Field(
        {},
        description="Top-level keys this specbench does not know (a newer one's figures): kept as read, "
        "written back at the top level, shown by compare as other figures.",
    )
    source_format: str = Field("specbench", exclude=True)

    def metric(self, key: str) -> MetricValue:
        return self.metrics.get(key)

    def to_json_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude={"metrics", "other"})
        head = {key: data.pop(key) for key in ("schema_version", "run", "engine", "workload")}
        return {**head, **self.metrics, **self.other, **data}

    @classmethod
    def from_json_dict(cls, data: dict[str, Any], *, source_format: str = "specbench") -> BenchmarkResult:
        """The inverse of to_json_dict; top-level keys the registry declares are metrics, and those neither
        a section nor a metric are kept in `other`."""
        fields = cls.model_fields.keys() - {"metrics", "other", "source_format"}
        sections = {key: value for key, value in data.items() if key in fields}
        metrics = {key: value for key, value in data.items() if spec_for_key(key) is not None}
        other = {key: value for key, value in data.items() if key not in sections and key not in metrics}
        return cls.model_validate(
            {**sections, "metrics": metrics, "other": other, "source_format": source_format}
        )


class IndexEntry(BaseModel):
    """One result of an invocation: what varied for it and where its file is."""

    label: str
    status: RunStatus
    result_file: str | None
    settings: dict[str, Any] = {}
    error: str | None = None


class ResultIndex(BaseModel):
    """index.json: every result of one invocation (head-to-head, sweep, SLO search), in the order run."""

    schema_version: str = INDEX_SCHEMA_VERSION
    run_id: str
    kind: IndexKind
    created_at: str
    entries: list[IndexEntry] = []
    summary: dict[str, Any] = {}
