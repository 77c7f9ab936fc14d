"""Question files (MT-bench / Spec-Bench layout), categories and the chat template, up to the workload."""

from __future__ import annotations

import json
from copy import deepcopy
from pathlib import Path

import numpy as np
import pytest

from specbench.config import RunConfig
from specbench.errors import ConfigError
from specbench.workload.builder import build_workload
from specbench.workload.chat import question_encoder
from specbench.workload.prompts import open_prompt_source, sample_prompts
from specbench.workload.questions import FieldNames
from specbench.workload.tokenizer import HFPromptTokenizer, PromptTokenizer

# Lines as in Spec-Bench's data/spec_bench/question.jsonl ("reference" on some) and MT-bench's question.jsonl.
QUESTIONS = [
    {"question_id": 81, "category": "writing", "turns": ["Write a poem about the sea.", "Now shorter."]},
    {
        "question_id": 161,
        "category": "translation",
        "turns": ["Translate German to English: Der Hund schläft."],
        "reference": ["The dog sleeps."],
    },
    {"question_id": 111, "category": "math", "turns": ["What is 12 times 7?", "And 13 times 7?"]},
]
TEMPLATE = "{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}<|assistant|>"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_question_file_prompt_is_the_first_turn_with_its_category(tmp_path: Path):
    source = open_prompt_source(str(write_jsonl(tmp_path / "question.jsonl", QUESTIONS)))
    assert source.format == "jsonl"
    assert [(e.text, e.category) for e in source.entries] == [
        ("Write a poem about the sea.", "writing"),
        ("Translate German to English: Der Hund schläft.", "translation"),
        ("What is 12 times 7?", "math"),
    ]
    assert all(e.is_question for e in source.entries)


def test_plain_prompt_lines_keep_a_category_beside_the_prompt_and_are_sent_as_written(tmp_path: Path):
    rows = [{"prompt": "Hello there", "category": "chat"}, {"prompt": "No category here"}]
    source = open_prompt_source(str(write_jsonl(tmp_path / "p.jsonl", rows)))
    assert [(e.category, e.is_question) for e in source.entries] == [("chat", False), (None, False)]


def test_prompt_and_category_fields_can_be_named(tmp_path: Path):
    rows = [{"instruction": "Sort these numbers", "task": "coding"}]
    fields = FieldNames(prompt="instruction", category="task")
    (entry,) = open_prompt_source(str(write_jsonl(tmp_path / "p.jsonl", rows)), fields=fields).entries
    assert (entry.text, entry.category, entry.is_question) == ("Sort these numbers", "coding", True)


@pytest.mark.parametrize(
    ("row", "fields", "message"),
    [
        ({"instruction": "x"}, FieldNames(), 'needs a non-empty "prompt"'),
        ({"turns": []}, FieldNames(), 'the first of "turns" must be a non-empty string'),
        ({"prompt": "x"}, FieldNames(category="task"), 'no field "task" (--category-field)'),
        ({"prompt": "x", "category": ["a"]}, FieldNames(), '"category" must be a non-empty string'),
        ({"text": "x"}, FieldNames(prompt="question"), 'no field "question" (--prompt-field)'),
    ],
)
def test_a_row_without_what_is_asked_for_is_one_clear_error(tmp_path, row, fields, message):
    with pytest.raises(ConfigError, match=":1: ") as caught:
        open_prompt_source(str(write_jsonl(tmp_path / "p.jsonl", [row])), fields=fields)
    assert message in str(caught.value)


@pytest.fixture
def chat_tokenizer(tiny_tokenizer: PromptTokenizer) -> HFPromptTokenizer:
    assert isinstance(tiny_tokenizer, HFPromptTokenizer)
    hf = deepcopy(tiny_tokenizer.tokenizer)
    hf.chat_template = TEMPLATE
    return HFPromptTokenizer(hf)


def test_questions_go_through_the_chat_template_and_plain_prompts_do_not(tmp_path, chat_tokenizer):
    rows = [{"turns": ["What is 12 times 7?"], "category": "math"}, {"prompt": "What is 12 times 7?"}]
    source = open_prompt_source(str(write_jsonl(tmp_path / "q.jsonl", rows)))
    encoder = question_encoder(chat_tokenizer, "auto")
    assert encoder.applied == "tokenizer"
    prompts = sample_prompts(
        source,
        2,
        input_len=1,
        output_len=4,
        tokenizer=chat_tokenizer,
        rng=np.random.default_rng(0),
        encode_question=encoder.encode,
    )
    by_category = {p.category: p for p in prompts}
    assert by_category["math"].token_ids == chat_tokenizer.encode("<|user|>What is 12 times 7?<|assistant|>")
    assert by_category[None].token_ids == chat_tokenizer.encode("What is 12 times 7?")


def test_chat_template_none_or_a_tokenizer_without_one_leaves_questions_as_written(
    chat_tokenizer, tiny_tokenizer
):
    assert question_encoder(chat_tokenizer, "none").encode is None
    assert question_encoder(chat_tokenizer, "none").applied == "off"
    assert question_encoder(tiny_tokenizer, "auto").applied == "tokenizer has none"


def test_workload_requests_carry_their_category_and_the_summary_counts_them(tmp_path, tiny_tokenizer):
    path = write_jsonl(tmp_path / "question.jsonl", QUESTIONS)
    config = RunConfig.model_validate(
        {"workload": {"dataset": str(path), "num_prompts": 6, "output_len": 8, "warmup": 1}}
    )
    workload = build_workload(config, tiny_tokenizer)
    # Six requests cycle through the three questions twice, in one seeded order.
    assert sorted(r.category for r in workload.requests) == sorted(["writing", "translation", "math"] * 2)
    assert workload.summary["categories"] == {"math": 2, "translation": 2, "writing": 2}
    assert workload.summary["chat_template"] == "tokenizer has none"
    texts = {r.category: r.prompt_text for r in workload.requests}
    assert texts["math"] == "What is 12 times 7?"  # the first turn, as written (the openai engine sends it)


def test_workload_of_random_prompts_has_no_categories(tiny_tokenizer):
    workload = build_workload(RunConfig.model_validate({"workload": {"num_prompts": 3}}), tiny_tokenizer)
    assert {r.category for r in workload.requests} == {None}
    assert "categories" not in workload.summary and "chat_template" not in workload.summary
