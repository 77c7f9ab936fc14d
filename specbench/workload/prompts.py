"""Prompts: synthetic token ids, or text from a JSONL (MT-bench / Spec-Bench questions included), ShareGPT or
Hugging Face dataset, with their output lengths and categories."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from specbench.errors import ConfigError
from specbench.workload.hf_datasets import HF_PREFIX, read_hf_dataset
from specbench.workload.json_lines import json_lines
from specbench.workload.questions import FieldNames, RowPrompt, read_row
from specbench.workload.tokenizer import PromptTokenizer

DatasetFormat = Literal["random", "jsonl", "sharegpt", "hf"]

RANDOM_DATASET = "random"
_FILE_FORMATS: dict[str, DatasetFormat] = {"jsonl": "jsonl", "sharegpt": "sharegpt", "hf": "hf"}
# Files the `datasets` library reads (the hf format) when --dataset-format is auto.
_HF_SUFFIXES = frozenset({".parquet", ".arrow"})
_HUMAN_ROLES = frozenset({"human", "user"})
_ASSISTANT_ROLES = frozenset({"gpt", "assistant", "chatgpt", "bard", "bing", "model"})


@dataclass(frozen=True, slots=True)
class Prompt:
    """One request's input, ready to send."""

    token_ids: list[int]
    output_len: int
    text: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetEntry:
    """One usable entry of a dataset file, not yet tokenized (only sampled entries ever are)."""

    text: str
    where: str  # "file:line" or "file: entry N", for error messages
    output_len: int | None = None  # given as a number in the file
    reply: str | None = None  # ShareGPT: the reply whose token count is the output length
    category: str | None = None
    is_question: bool = False  # a user's message, read through the chat template (questions.py)


@dataclass(frozen=True, slots=True)
class PromptSource:
    """A parsed dataset (or the synthetic generator when `format` is random)."""

    name: str
    format: DatasetFormat
    entries: tuple[DatasetEntry, ...] = ()
    skipped: int = 0  # ShareGPT conversations without a human turn


def resolve_format(dataset: str, dataset_format: str) -> DatasetFormat:
    """The format to read `dataset` with; "auto" decides from the name."""
    is_random = dataset == RANDOM_DATASET
    if dataset_format == "auto":
        if is_random:
            return "random"
        path = Path(dataset).expanduser()
        suffix = path.suffix.lower()
        if dataset.startswith(HF_PREFIX) or suffix in _HF_SUFFIXES:
            return "hf"
        if path.is_dir():
            raise ConfigError(f"dataset {path} is a directory: {_DATASET_KINDS}")
        if suffix == ".jsonl":
            return "jsonl"
        if suffix == ".json":
            return "sharegpt"
        if _is_binary(path):
            raise ConfigError(f"dataset {dataset} is not a text file: {_DATASET_KINDS}")
        raise ConfigError(
            f"cannot tell the format of {dataset} from its extension: pass --dataset-format jsonl or sharegpt"
        )
    if dataset_format == "random":
        if not is_random:
            raise ConfigError(f"--dataset-format random contradicts --dataset {dataset}: drop one of them")
        return "random"
    file_format = _FILE_FORMATS.get(dataset_format)
    if file_format is not None:
        if is_random:
            raise ConfigError(f"--dataset-format {dataset_format} needs a file: pass --dataset PATH")
        return file_format
    raise ConfigError(f"unknown dataset format {dataset_format!r}: use auto, random, jsonl, sharegpt or hf")


def open_prompt_source(
    dataset: str, dataset_format: str = "auto", fields: FieldNames | None = None
) -> PromptSource:
    """Parse the dataset once; `sample_prompts` then draws from it."""
    fmt = resolve_format(dataset, dataset_format)
    fields = fields or FieldNames()
    if fmt == "random":
        return PromptSource(name=dataset, format=fmt)
    if fmt == "hf":
        entries = tuple(entry_of(row, where) for row, where in read_hf_dataset(dataset, fields))
        return PromptSource(name=dataset, format=fmt, entries=entries)
    path = Path(dataset).expanduser()
    text = _read_text(path)
    if fmt == "jsonl":
        return PromptSource(name=dataset, format=fmt, entries=tuple(parse_jsonl(text, path, fields)))
    entries, skipped = parse_sharegpt(text, path)
    return PromptSource(name=dataset, format=fmt, entries=tuple(entries), skipped=skipped)


def sample_prompts(
    source: PromptSource,
    count: int,
    *,
    input_len: int,
    output_len: int | None,
    tokenizer: PromptTokenizer,
    rng: np.random.Generator,
    skip: int = 0,
    encode_question: Callable[[str], list[int]] | None = None,
) -> list[Prompt]:
    """`count` prompts; output_len None takes each prompt's output length from the dataset.

    A dataset is visited in one seeded random order, from position `skip` on (what earlier points of a
    session took), cycling through it again when more prompts are asked for than it holds.
    `encode_question` tokenizes the entries that are a user's message (through the chat template,
    workload/chat.py); unset, they are tokenized as written.
    """
    if source.format == "random":
        if output_len is None:
            raise ConfigError("--dataset random has no output lengths: set --output-len N")
        return synthetic_prompts(
            count, input_len=input_len, output_len=output_len, tokenizer=tokenizer, rng=rng
        )
    entries = source.entries
    if output_len is None:
        entries = _entries_with_lengths(source)
    order = rng.permutation(len(entries))
    tokenized: dict[int, Prompt] = {}  # a cycled entry is tokenized once
    prompts = []
    for position in range(count):
        index = int(order[(skip + position) % len(order)])
        if index not in tokenized:
            tokenized[index] = _tokenize(
                entries[index], output_len=output_len, tokenizer=tokenizer, encode_question=encode_question
            )
        prompts.append(tokenized[index])
    return prompts


def synthetic_prompts(
    count: int, *, input_len: int, output_len: int, tokenizer: PromptTokenizer, rng: np.random.Generator
) -> list[Prompt]:
    """Random token ids, exactly input_len of them, never a special token."""
    allowed = np.setdiff1d(
        np.arange(tokenizer.vocab_size), np.fromiter(tokenizer.special_ids, dtype=np.int64)
    )
    if allowed.size == 0:
        raise ConfigError("the tokenizer has no ordinary tokens to build synthetic prompts from")
    ids = rng.choice(allowed, size=(count, input_len))
    return [Prompt(token_ids=row.tolist(), output_len=output_len) for row in ids]


def parse_jsonl(text: str, path: Path, fields: FieldNames | None = None) -> list[DatasetEntry]:
    """One JSON object per line: "prompt" (or "text"), or MT-bench / Spec-Bench "turns" (the first is the
    prompt); optionally "category" and "output_len" (or "max_tokens"). See workload/questions.py."""
    fields = fields or FieldNames()
    entries = []
    for where, record in json_lines(text, path):
        if not isinstance(record, dict):
            raise ConfigError(f'{where}: expected a JSON object with a "prompt" field')
        entries.append(entry_of(read_row(record, where, fields), where))
    if not entries:
        raise ConfigError(f"{path} holds no prompts")
    return entries


def entry_of(row: RowPrompt, where: str) -> DatasetEntry:
    """The entry of one row read by questions.read_row."""
    return DatasetEntry(
        text=row.text,
        where=where,
        output_len=row.output_len,
        category=row.category,
        is_question=row.is_question,
    )


def parse_sharegpt(text: str, path: Path) -> tuple[list[DatasetEntry], int]:
    """vLLM's ShareGPT format: [{"conversations": [{"from": "human", "value": ...}, ...]}, ...].

    The prompt is the first human turn and the reply the first assistant turn after it. Conversations
    without a human turn are skipped, as vLLM does; their number is returned with the entries.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, list):
        raise ConfigError(f'{path}: expected a JSON list of {{"conversations": [...]}} objects (ShareGPT)')
    entries, skipped = [], 0
    for number, item in enumerate(data, start=1):
        where = f"{path}: entry {number}"
        turns = item.get("conversations") if isinstance(item, dict) else None
        if not isinstance(turns, list):
            raise ConfigError(f'{where}: needs a "conversations" list')
        entry = _conversation_entry(turns, where)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    if not entries:
        raise ConfigError(f"{path}: no conversation has a human turn")
    return entries, skipped


def _conversation_entry(turns: list[Any], where: str) -> DatasetEntry | None:
    prompt: str | None = None
    for turn_no, turn in enumerate(turns, start=1):
        if not (
            isinstance(turn, dict)
            and isinstance(turn.get("from"), str)
            and isinstance(turn.get("value"), str)
        ):
            raise ConfigError(f'{where}, turn {turn_no}: needs "from" and "value" strings')
        role, value = turn["from"].lower(), turn["value"]
        if prompt is None:
            if role in _HUMAN_ROLES and value.strip():
                prompt = value
        elif role in _ASSISTANT_ROLES:
            return DatasetEntry(text=prompt, where=where, reply=value if value.strip() else None)
    return None if prompt is None else DatasetEntry(text=prompt, where=where)


def _entries_with_lengths(source: PromptSource) -> tuple[DatasetEntry, ...]:
    if source.format in ("jsonl", "hf"):
        for entry in source.entries:
            if entry.output_len is None:
                raise ConfigError(
                    f'{entry.where}: no "output_len" (or "max_tokens"): give every line one, '
                    "or set --output-len N"
                )
        return source.entries
    with_reply = tuple(entry for entry in source.entries if entry.reply is not None)
    if not with_reply:
        raise ConfigError(
            f"{source.name}: no conversation has a reply to take an output length from: set --output-len N"
        )
    return with_reply


def _tokenize(
    entry: DatasetEntry,
    *,
    output_len: int | None,
    tokenizer: PromptTokenizer,
    encode_question: Callable[[str], list[int]] | None = None,
) -> Prompt:
    encode = encode_question if entry.is_question and encode_question is not None else tokenizer.encode
    token_ids = encode(entry.text)
    if not token_ids:
        raise ConfigError(f"{entry.where}: the prompt is empty once tokenized")
    if output_len is None:
        if entry.output_len is not None:
            output_len = entry.output_len
        else:
            assert entry.reply is not None  # guaranteed by _entries_with_lengths
            output_len = len(tokenizer.encode(entry.reply))
            if output_len == 0:
                raise ConfigError(f"{entry.where}: the reply is empty once tokenized; set --output-len N")
    return Prompt(token_ids=token_ids, output_len=output_len, text=entry.text, category=entry.category)


_DATASET_KINDS = (
    "pass a JSONL file of prompts, a ShareGPT .json, a .parquet or .arrow file (or --dataset random)"
)


def _is_binary(path: Path) -> bool:
    """A NUL byte or bytes that are not UTF-8 in the first 8 KiB: an executable, an archive, an image."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
    except OSError:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # not merely a character cut at the 8 KiB boundary
    return b"\0" in head


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"dataset file {path} not found (use --dataset random for synthetic prompts)"
        ) from exc
    except IsADirectoryError as exc:
        raise ConfigError(
            f"dataset {path} is a directory: pass a .jsonl, ShareGPT .json, .parquet or .arrow file"
        ) from exc
    except UnicodeDecodeError:
        raise ConfigError(f"dataset {path} is not a text file (it is not UTF-8): {_DATASET_KINDS}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read dataset {path}: {exc.strerror or exc}") from None
