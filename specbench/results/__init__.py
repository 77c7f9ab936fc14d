"""The result file: a typed model, where it is written and how, and how it is read back."""

from specbench.results.model import (
    SCHEMA_VERSION,
    BenchmarkResult,
    EngineSection,
    IndexEntry,
    ResultIndex,
    RunSection,
)

__all__ = ["SCHEMA_VERSION", "BenchmarkResult", "EngineSection", "IndexEntry", "ResultIndex", "RunSection"]
