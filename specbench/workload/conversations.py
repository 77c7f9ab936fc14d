"""Conversations: sessions of several turns, synthetic or from a dataset's conversations.

Only each turn's new user message is planned here; the history (earlier messages and the answers the
engine really gave) is put before it as the session runs (runner/dispatcher.py), since the answers are
not known in advance. Sessions arrive on the workload's schedule; each later turn waits a seeded think
time after the previous answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from specbench.errors import ConfigError
from specbench.workload.prompts import Prompt, resolve_format, synthetic_prompts
from specbench.workload.tokenizer import PromptTokenizer
from specbench.workload.types import PlannedRequest, PlannedTurn

_HUMAN_ROLES = frozenset({"human", "user"})

Session = list[Prompt]  # each turn's new message and its output length


def synthetic_sessions(
    count: int,
    *,
    turns: int,
    input_len: int,
    turn_input_len: int | None,
    output_len: int | None,
    tokenizer: PromptTokenizer,
    rng: np.random.Generator,
) -> list[Session]:
    """`count` sessions of `turns` turns: input_len tokens first, turn_input_len (or input_len) after."""
    if output_len is None:
        raise ConfigError("synthetic conversations have no output lengths: set --output-len N")
    first = synthetic_prompts(count, input_len=input_len, output_len=output_len, tokenizer=tokenizer, rng=rng)
    later = synthetic_prompts(
        count * (turns - 1),
        input_len=turn_input_len or input_len,
        output_len=output_len,
        tokenizer=tokenizer,
        rng=rng,
    )
    return [[first[i], *later[i * (turns - 1) : (i + 1) * (turns - 1)]] for i in range(count)]


def dataset_sessions(
    dataset: str,
    dataset_format: str,
    count: int,
    *,
    turns: int,
    output_len: int | None,
    tokenizer: PromptTokenizer,
    rng: np.random.Generator,
) -> tuple[list[Session], int]:
    """`count` sessions of at most `turns` turns from a ShareGPT file (human turns, each with the reply's
    length) or an MT-bench question file (JSONL with a "turns" list); and how many conversations the file
    holds. Conversations are visited in one seeded order, cycling when more sessions are asked for."""
    fmt = resolve_format(dataset, dataset_format)
    path = Path(dataset).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read dataset {path}: {exc}") from None
    conversations = _sharegpt(text, path) if fmt == "sharegpt" else _question_turns(text, path)
    if output_len is None:
        conversations = [c for c in conversations if c and c[0][1] is not None]
        if not conversations:
            raise ConfigError(
                f"{path}: no conversation has replies to take output lengths from: set --output-len N"
            )
    order = rng.permutation(len(conversations))
    sessions = []
    for position in range(count):
        conversation = conversations[int(order[position % len(order)])][:turns]
        session = []
        for message, reply in conversation:
            length = output_len if output_len is not None else _reply_len(reply, tokenizer)
            if length is None:
                break  # a later turn without a reply ends the session where --output-len is not set
            ids = tokenizer.encode(message)
            if not ids:
                break
            session.append(Prompt(token_ids=ids, output_len=length, text=message))
        if not session:
            raise ConfigError(f"{path}: a conversation's first turn is empty once tokenized")
        sessions.append(session)
    return sessions, len(conversations)


def think_times(count: int, *, mean_s: float, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Seconds between an answer and the next turn: exponential with the given mean, or constant."""
    if mean_s == 0 or kind == "constant":
        return np.full(count, mean_s)
    return rng.exponential(mean_s, size=count)


def plan_sessions(
    times: Sequence[float], sessions: Sequence[Session], think_s: np.ndarray
) -> list[PlannedRequest]:
    """The sessions' first turns on the schedule, each carrying its later turns; request ids run over every
    turn (a session's turns are consecutive), so each turn's record has its own id."""
    planned, next_id, next_think = [], 0, 0
    for due, session in zip(times, sessions, strict=True):
        first, *rest = session
        later = []
        for offset, prompt in enumerate(rest, start=1):
            later.append(
                PlannedTurn(
                    request_id=next_id + offset,
                    prompt_token_ids=prompt.token_ids,
                    max_tokens=prompt.output_len,
                    think_s=float(think_s[next_think]),
                    prompt_text=prompt.text,
                )
            )
            next_think += 1
        planned.append(
            PlannedRequest(
                request_id=next_id,
                scheduled_s=float(due),
                prompt_token_ids=first.token_ids,
                max_tokens=first.output_len,
                prompt_text=first.text,
                later_turns=tuple(later),
            )
        )
        next_id += len(session)
    return planned


def _reply_len(reply: str | None, tokenizer: PromptTokenizer) -> int | None:
    if reply is None:
        return None
    return len(tokenizer.encode(reply)) or None


def _sharegpt(text: str, path: Path) -> list[list[tuple[str, str | None]]]:
    """Each conversation's human turns, each with the assistant reply that follows it (None if none)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise ConfigError(f'{path}: expected a JSON list of {{"conversations": [...]}} objects (ShareGPT)')
    conversations = []
    for number, item in enumerate(data, start=1):
        turns = item.get("conversations") if isinstance(item, dict) else None
        if not isinstance(turns, list):
            raise ConfigError(f'{path}: entry {number}: needs a "conversations" list')
        pairs: list[tuple[str, str | None]] = []
        for turn in turns:
            if not (isinstance(turn, dict) and isinstance(turn.get("value"), str)):
                raise ConfigError(f'{path}: entry {number}: every turn needs "from" and "value" strings')
            role, value = str(turn.get("from", "")).lower(), turn["value"]
            if role in _HUMAN_ROLES:
                if value.strip():
                    pairs.append((value, None))
            elif pairs and pairs[-1][1] is None and value.strip():
                pairs[-1] = (pairs[-1][0], value)
        if pairs:
            conversations.append(pairs)
    if not conversations:
        raise ConfigError(f"{path}: no conversation has a human turn")
    return conversations


def _question_turns(text: str, path: Path) -> list[list[tuple[str, str | None]]]:
    """MT-bench's question.jsonl: {"question_id", "category", "turns": [first, second]} a line."""
    conversations = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
        turns = record.get("turns") if isinstance(record, dict) else None
        if not (isinstance(turns, list) and turns and all(isinstance(t, str) and t.strip() for t in turns)):
            raise ConfigError(
                f'{path}:{line_no}: conversations from JSONL need a "turns" list of strings (MT-bench '
                "questions); a ShareGPT .json file works too"
            )
        conversations.append([(turn, None) for turn in turns])
    if not conversations:
        raise ConfigError(f"{path} holds no questions")
    return conversations
