"""Readers of result files: specbench's own (every schema version, index.json, directories) and those of
`vllm bench serve`, guidellm and AIPerf, each turned into a BenchmarkResult with `source_format` set."""

from specbench.results.readers.formats import FORMATS, ResultFormat, detect_format
from specbench.results.readers.loaded import LoadedRun, ResultSet
from specbench.results.readers.paths import INDEX_FILE, LOAD_SETTINGS, read_results

__all__ = [
    "FORMATS",
    "INDEX_FILE",
    "LOAD_SETTINGS",
    "LoadedRun",
    "ResultFormat",
    "ResultSet",
    "detect_format",
    "read_results",
]
