"""Prompts from a Hugging Face dataset through the `datasets` library (the `datasets` extra).

`--dataset hf:NAME[:CONFIG][:SPLIT]` loads from the hub (or its local cache); a local .parquet, .arrow,
.json or .jsonl file with `--dataset-format hf` (auto for .parquet and .arrow) goes through the matching
`datasets` loader. Every row is a question (workload/questions.py): `--prompt-field` and
`--category-field` name its fields.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from specbench.errors import ConfigError
from specbench.workload.questions import FieldNames, RowPrompt, read_row

HF_PREFIX = "hf:"

_LOCAL_LOADERS = {".parquet": "parquet", ".arrow": "arrow", ".json": "json", ".jsonl": "json"}
_INSTALL = "reading Hugging Face datasets needs the datasets library: pip install 'specbench[datasets]'"
_OFFLINE_ENV = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
_PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class HubName:
    name: str
    config: str | None = None
    split: str | None = None


def parse_hub_name(dataset: str) -> HubName:
    """hf:NAME[:CONFIG][:SPLIT] → its parts; an empty part is unset (hf:NAME::test)."""
    parts = dataset.removeprefix(HF_PREFIX).split(":")
    if not parts[0] or len(parts) > 3:
        raise ConfigError(f"--dataset {dataset}: write hf:NAME, hf:NAME:CONFIG or hf:NAME:CONFIG:SPLIT")
    name, config, split = (*parts, None, None)[:3]
    return HubName(name=name, config=config or None, split=split or None)


def read_hf_dataset(dataset: str, fields: FieldNames) -> list[tuple[RowPrompt, str]]:
    """Every row's prompt, with where it is for error messages."""
    rows = []
    for number, row in enumerate(_load_rows(dataset), start=1):
        where = f"{dataset}: row {number}"
        rows.append((read_row(row, where, fields, question=True), where))
    if not rows:
        raise ConfigError(f"{dataset} holds no rows")
    return rows


def _load_rows(dataset: str) -> Any:
    hub_name = dataset.startswith(HF_PREFIX)
    online = _hub_reachable() if hub_name else True
    with _offline_unless(online):
        try:
            import datasets
        except ImportError:
            raise ConfigError(_INSTALL) from None
    if hub_name:
        hub = parse_hub_name(dataset)
        try:
            loaded = datasets.load_dataset(hub.name, hub.config, split=hub.split)
        except Exception as exc:  # `datasets` raises many types; offline is the common one
            where = "the Hugging Face hub" if online else "the local cache (the hub cannot be reached)"
            raise ConfigError(
                f"cannot load {dataset} from {where}: {_reason(exc)}; on a machine without the hub, download "
                "it elsewhere and pass its .parquet / .arrow / .jsonl file with --dataset PATH"
            ) from None
        return _one_split(loaded, dataset)
    path = Path(dataset).expanduser()
    loader = _LOCAL_LOADERS.get(path.suffix.lower())
    if loader is None:
        raise ConfigError(
            f"--dataset-format hf reads .parquet, .arrow, .json and .jsonl files or hf:NAME, not {dataset}"
        )
    if not path.is_file():
        raise ConfigError(f"dataset file {path} not found (use --dataset random for synthetic prompts)")
    try:
        return datasets.load_dataset(loader, data_files=str(path), split="train")
    except Exception as exc:
        raise ConfigError(f"cannot read {path} with datasets' {loader} loader: {_reason(exc)}") from None


def _hub_reachable() -> bool:
    """One TCP connection to the hub, seconds at most: unreachable, `datasets` would retry for a minute."""
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((endpoint.hostname or "", endpoint.port or 443), _PROBE_TIMEOUT_S).close()
    except OSError:
        return False
    return True


@contextmanager
def _offline_unless(online: bool) -> Iterator[None]:
    """Import `datasets` in its offline mode when the hub is unreachable: it reads the mode once, at import,
    and then answers from its cache at once. An already imported `datasets` keeps its mode."""
    if online or "datasets" in sys.modules:
        yield
        return
    saved = {name: os.environ.get(name) for name in _OFFLINE_ENV}
    os.environ.update(dict.fromkeys(_OFFLINE_ENV, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _one_split(loaded: Any, dataset: str) -> Any:
    """A DatasetDict (no split named) must hold exactly one split: which to benchmark is the user's choice."""
    if not hasattr(loaded, "keys"):
        return loaded
    splits = list(loaded.keys())
    if len(splits) == 1:
        return loaded[splits[0]]
    hub = parse_hub_name(dataset)
    raise ConfigError(
        f"{dataset} has the splits {', '.join(splits)}: name one, e.g. "
        f"hf:{hub.name}:{hub.config or ''}:{splits[0]}"
    )


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
