"""Read what the user named: a result file of any supported tool, an index.json, or a directory with one."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from specbench.results.figure_check import check_figures
from specbench.results.load import ResultFileError, read_json_documents
from specbench.results.model import ResultIndex
from specbench.results.readers.formats import INDEX, detect_format
from specbench.results.readers.loaded import LoadedRun, ResultSet

INDEX_FILE = "index.json"
# The settings of an index entry that make its invocation a sweep over load.
LOAD_SETTINGS = {"workload.rate", "workload.max_concurrency"}


def read_results(path: Path) -> ResultSet:
    """Every run `path` holds. Raises ResultFileError (one line) for a path that holds none."""
    if path.is_dir():
        if not (path / INDEX_FILE).is_file():
            raise ResultFileError(
                f"{path} is a directory without {INDEX_FILE}: pass result files, or the directory a "
                "head-to-head or sweep wrote"
            )
        path = path / INDEX_FILE
    documents = read_json_documents(path)
    formats = [detect_format(document, path) for document in documents]
    if formats[0] is INDEX:
        if len(documents) > 1:
            raise ResultFileError(f"{path} holds several index documents: pass one index.json")
        return _read_index(path, documents[0])
    runs: list[LoadedRun] = []
    for fmt, document in zip(formats, documents, strict=True):
        if fmt.read is None:
            raise ResultFileError(f"{path} mixes an index with results: pass them separately")
        try:
            results = fmt.read(document, path)
            records = fmt.records(document) if len(results) == 1 else None
        except (AttributeError, LookupError, TypeError, ValueError) as exc:
            # pydantic's ValidationError is a ValueError: a field of the wrong type ends up here too.
            raise ResultFileError(
                f"{path} looks like {fmt.description} but cannot be read: {_reason(exc)}"
            ) from None
        for result in results:
            # A figure that is not a number would show as "—" or "nan×": refused here, naming it.
            check_figures(result.metrics, path)
        runs += [LoadedRun(path=path, result=result, records=records) for result in results]
    if not runs:
        raise ResultFileError(f"{path} is {formats[0].description} with no benchmark in it")
    kind = formats[0].kind(documents[0])
    return ResultSet(path=path, runs=runs, kind=kind, load_varied=len(runs) > 1 and len(documents) == 1)


def _read_index(path: Path, data: dict) -> ResultSet:
    try:
        index = ResultIndex.model_validate(data)
    except ValidationError as exc:
        raise ResultFileError(f"{path} is not a specbench index.json: {_reason(exc)}") from None
    runs = []
    for entry in index.entries:
        if entry.result_file is None:
            error = entry.error or f"no result was saved ({entry.status})"
            runs.append(LoadedRun(path=path, result=None, label=entry.label, error=error))
            continue
        file = path.parent / entry.result_file
        try:
            result = read_results(file).runs[0].result
        except ResultFileError as exc:
            runs.append(LoadedRun(path=file, result=None, label=entry.label, error=str(exc)))
            continue
        runs.append(LoadedRun(path=file, result=result, label=entry.label, error=entry.error))
    varied = {key for entry in index.entries for key in entry.settings}
    return ResultSet(path=path, runs=runs, kind=index.kind, load_varied=bool(varied & LOAD_SETTINGS))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
    if isinstance(exc, KeyError):
        return f"it has no {exc.args[0]!r}"
    return str(exc)
