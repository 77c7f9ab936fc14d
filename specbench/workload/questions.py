"""One dataset row (a JSONL line or a Hugging Face dataset row) → one prompt with its category.

Layouts read without being told (checked against the projects' own files):
- MT-bench (lm-sys/FastChat fastchat/llm_judge/data/mt_bench/question.jsonl) and Spec-Bench
  (hemingkx/Spec-Bench data/spec_bench/question.jsonl): {"question_id", "category", "turns": [user
  messages], "reference"?}. The first turn is the prompt; later turns wait for the conversation workload.
- Any row with "prompt" (or "text") and, beside it, an optional "category".
`--prompt-field` and `--category-field` name other fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from specbench.errors import ConfigError

PROMPT_KEYS = ("prompt", "text")
TURNS_KEY = "turns"
CATEGORY_KEY = "category"
OUTPUT_LEN_KEYS = ("output_len", "max_tokens")


@dataclass(frozen=True, slots=True)
class FieldNames:
    """Which fields of a row hold the prompt and the category; None = the defaults above."""

    prompt: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class RowPrompt:
    text: str
    # A user's message (a question's turn, a --prompt-field, a dataset row), which a chat model reads through
    # its chat template; a plain "prompt"/"text" line is sent as written, as `vllm bench serve` sends it.
    is_question: bool
    category: str | None
    output_len: int | None


def read_row(row: Mapping[str, Any], where: str, fields: FieldNames, *, question: bool = False) -> RowPrompt:
    """The prompt, category and output length of one row; `question` marks every prompt a user's message."""
    if fields.prompt is not None:
        if fields.prompt not in row:
            raise ConfigError(f'{where}: no field "{fields.prompt}" (--prompt-field); it has {_keys(row)}')
        text, from_turns = _prompt_text(row[fields.prompt], where, fields.prompt)
        is_question = True
    else:
        key = next((k for k in (*PROMPT_KEYS, TURNS_KEY) if k in row), None)
        if key is None:
            raise ConfigError(
                f'{where}: needs a non-empty "prompt" (or "text") string or a "turns" list; it has '
                f"{_keys(row)} (name the prompt's field with --prompt-field)"
            )
        text, from_turns = _prompt_text(row[key], where, key)
        is_question = question or from_turns
    return RowPrompt(
        text=text,
        is_question=is_question,
        category=_category(row, where, fields.category),
        output_len=_output_len(row, where),
    )


def _prompt_text(value: Any, where: str, key: str) -> tuple[str, bool]:
    """The text, and whether it came from a list of turns (whose first is the prompt)."""
    from_turns = isinstance(value, list)
    if from_turns:
        value = value[0] if value else None
    if not isinstance(value, str) or not value.strip():
        if key in PROMPT_KEYS:
            raise ConfigError(f'{where}: needs a non-empty "prompt" (or "text") string')
        what = f'the first of "{key}"' if from_turns else f'"{key}"'
        raise ConfigError(f"{where}: {what} must be a non-empty string")
    return value, from_turns


def _category(row: Mapping[str, Any], where: str, field: str | None) -> str | None:
    key = field or CATEGORY_KEY
    if key not in row:
        if field is not None:
            raise ConfigError(f'{where}: no field "{field}" (--category-field); it has {_keys(row)}')
        return None
    value = row[key]
    # bool is an int to Python but never a category name.
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise ConfigError(f'{where}: "{key}" must be a non-empty string (a category name), got {value!r}')
    return str(value).strip()


def _output_len(row: Mapping[str, Any], where: str) -> int | None:
    value = next((row[key] for key in OUTPUT_LEN_KEYS if key in row), None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f'{where}: "output_len" / "max_tokens" must be a positive integer, got {value!r}')
    return value


def _keys(row: Mapping[str, Any]) -> str:
    names = list(row)
    return ", ".join(f'"{n}"' for n in names[:8]) + (", …" if len(names) > 8 else "") or "no fields"
