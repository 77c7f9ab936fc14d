from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from specbench.errors import ConfigError, SpecbenchError
from specbench.workload.prompts import (
    Prompt,
    PromptSource,
    open_prompt_source,
    resolve_format,
    sample_prompts,
)
from specbench.workload.tokenizer import PromptTokenizer, VocabOnlyTokenizer, load_tokenizer


def sample(
    source: PromptSource,
    count: int,
    tokenizer: PromptTokenizer,
    *,
    input_len: int = 16,
    output_len: int | None = 8,
    seed: int = 0,
) -> list[Prompt]:
    return sample_prompts(
        source,
        count,
        input_len=input_len,
        output_len=output_len,
        tokenizer=tokenizer,
        rng=np.random.default_rng(seed),
    )


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- synthetic prompts ---------------------------------------------------------------------------


def test_synthetic_prompts_have_exact_length_and_no_special_tokens(tiny_tokenizer: PromptTokenizer) -> None:
    prompts = sample(open_prompt_source("random"), 200, tiny_tokenizer, input_len=33, output_len=5)
    assert len(prompts) == 200
    ids = np.array([p.token_ids for p in prompts])
    assert ids.shape == (200, 33)
    assert ids.min() >= 0 and ids.max() < tiny_tokenizer.vocab_size
    assert not set(ids.ravel().tolist()) & tiny_tokenizer.special_ids
    assert {p.output_len for p in prompts} == {5}


def test_synthetic_prompts_are_seeded(tiny_tokenizer: PromptTokenizer) -> None:
    source = open_prompt_source("random")
    assert sample(source, 5, tiny_tokenizer, seed=1) == sample(source, 5, tiny_tokenizer, seed=1)
    assert sample(source, 5, tiny_tokenizer, seed=1) != sample(source, 5, tiny_tokenizer, seed=2)


def test_synthetic_prompts_need_a_fixed_output_length(tiny_tokenizer: PromptTokenizer) -> None:
    with pytest.raises(ConfigError, match="--output-len"):
        sample(open_prompt_source("random"), 3, tiny_tokenizer, output_len=None)


def test_synthetic_prompts_work_without_a_real_tokenizer(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"vocab_size": 300, "eos_token_id": [7, 8]}))
    vocab_only = load_tokenizer(tmp_path)
    ids = np.array(sample(open_prompt_source("random"), 50, vocab_only, input_len=20)[0].token_ids)
    assert ids.max() < 300
    assert not {7, 8} & set(ids.tolist())


# --- format detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "fmt", "expected"),
    [
        ("random", "auto", "random"),
        ("prompts.jsonl", "auto", "jsonl"),
        ("ShareGPT_V3.JSON", "auto", "sharegpt"),
        ("prompts.txt", "jsonl", "jsonl"),
        ("dump.data", "sharegpt", "sharegpt"),
    ],
)
def test_dataset_format_is_resolved_from_name_or_flag(dataset: str, fmt: str, expected: str) -> None:
    assert resolve_format(dataset, fmt) == expected


@pytest.mark.parametrize(
    ("dataset", "fmt", "message"),
    [
        ("prompts.txt", "auto", "--dataset-format"),
        ("prompts.jsonl", "random", "contradicts"),
        ("random", "jsonl", "needs a file"),
    ],
)
def test_unresolvable_dataset_format_is_a_config_error(dataset: str, fmt: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_format(dataset, fmt)


# --- JSONL -----------------------------------------------------------------------------------------


def test_jsonl_prompts_are_the_file_text_tokenized(data_dir: Path, tiny_tokenizer: PromptTokenizer) -> None:
    path = data_dir / "sample.jsonl"
    texts = {
        json.loads(line).get("prompt") or json.loads(line)["text"] for line in path.read_text().splitlines()
    }
    prompts = sample(open_prompt_source(str(path)), len(texts), tiny_tokenizer)
    assert {p.text for p in prompts} == texts
    for prompt in prompts:
        assert prompt.token_ids == tiny_tokenizer.encode(prompt.text)


def test_jsonl_output_lengths_come_from_the_file_when_unset(
    data_dir: Path, tiny_tokenizer: PromptTokenizer
) -> None:
    path = data_dir / "sample.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    expected = {r.get("prompt", r.get("text")): r.get("output_len", r.get("max_tokens")) for r in records}
    prompts = sample(open_prompt_source(str(path)), len(records), tiny_tokenizer, output_len=None)
    assert {p.text: p.output_len for p in prompts} == expected


def test_fixed_output_length_overrides_the_file(data_dir: Path, tiny_tokenizer: PromptTokenizer) -> None:
    prompts = sample(open_prompt_source(str(data_dir / "sample.jsonl")), 6, tiny_tokenizer, output_len=11)
    assert {p.output_len for p in prompts} == {11}


def test_jsonl_missing_output_length_names_the_line(tmp_path: Path, tiny_tokenizer: PromptTokenizer) -> None:
    path = write_lines(tmp_path / "p.jsonl", ['{"prompt": "a", "output_len": 3}', '{"prompt": "b"}'])
    source = open_prompt_source(str(path))
    with pytest.raises(ConfigError, match=r"p\.jsonl:2: .*--output-len"):
        sample(source, 2, tiny_tokenizer, output_len=None)


@pytest.mark.parametrize(
    ("lines", "where", "message"),
    [
        (['{"prompt": "ok"}', '{"prompt": "broken"'], ":2:", "not valid JSON"),
        (['{"prompt": "ok"}', "", '{"question": "no prompt"}'], ":3:", '"prompt"'),
        (['["a list"]'], ":1:", "JSON object"),
        (['{"prompt": "   "}'], ":1:", "non-empty"),
        (['{"prompt": "x", "output_len": 0}'], ":1:", "positive integer"),
        (['{"prompt": "x", "max_tokens": "12"}'], ":1:", "positive integer"),
        (['{"prompt": "x", "output_len": true}'], ":1:", "positive integer"),
    ],
)
def test_bad_jsonl_is_a_config_error_with_file_and_line(
    tmp_path: Path, lines: list[str], where: str, message: str
) -> None:
    path = write_lines(tmp_path / "bad.jsonl", lines)
    with pytest.raises(ConfigError, match=message) as error:
        open_prompt_source(str(path))
    assert f"{path}{where}" in str(error.value)


def test_empty_jsonl_is_a_config_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "empty.jsonl", ["", "  "])
    with pytest.raises(ConfigError, match="no prompts"):
        open_prompt_source(str(path))


def test_missing_dataset_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        open_prompt_source(str(tmp_path / "nope.jsonl"))


# --- ShareGPT --------------------------------------------------------------------------------------


def test_sharegpt_prompt_is_first_human_turn_and_output_length_its_reply(
    data_dir: Path, tiny_tokenizer: PromptTokenizer
) -> None:
    path = data_dir / "sharegpt_sample.json"
    expected = {}
    for item in json.loads(path.read_text()):
        turns = [t for t in item["conversations"] if t["from"] in ("human", "gpt")]
        if turns:
            expected[turns[0]["value"]] = len(tiny_tokenizer.encode(turns[1]["value"]))
    source = open_prompt_source(str(path))
    prompts = sample(source, len(expected), tiny_tokenizer, output_len=None)
    assert {p.text: p.output_len for p in prompts} == expected


def test_sharegpt_skips_conversations_without_a_human_turn(data_dir: Path) -> None:
    items = json.loads((data_dir / "sharegpt_sample.json").read_text())
    source = open_prompt_source(str(data_dir / "sharegpt_sample.json"))
    without_human = sum(1 for item in items if not any(t["from"] == "human" for t in item["conversations"]))
    assert without_human > 0  # the sample file must exercise skipping
    assert source.skipped == without_human
    assert len(source.entries) == len(items) - without_human


def test_sharegpt_without_replies_needs_a_fixed_output_length(
    tmp_path: Path, tiny_tokenizer: PromptTokenizer
) -> None:
    path = tmp_path / "questions.json"
    path.write_text(json.dumps([{"conversations": [{"from": "human", "value": "Hello?"}]}]))
    source = open_prompt_source(str(path))
    assert sample(source, 2, tiny_tokenizer, output_len=4)[0].text == "Hello?"
    with pytest.raises(ConfigError, match="--output-len"):
        sample(source, 2, tiny_tokenizer, output_len=None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[\n  {"conversations": []},\n  {"conversations": [}\n]', r":3: not valid JSON"),
        ('{"conversations": []}', "JSON list"),
        ('[{"conversations": []}, {"id": 2}]', r"entry 2: .*conversations"),
        ('[{"conversations": [{"from": "human"}]}]', r"entry 1, turn 1: .*value"),
        ('[{"conversations": []}]', "no conversation has a human turn"),
    ],
)
def test_bad_sharegpt_is_a_config_error_naming_the_place(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as error:
        open_prompt_source(str(path))
    assert str(path) in str(error.value)


# --- sampling from a dataset -----------------------------------------------------------------------


def test_small_dataset_cycles_evenly_in_a_seeded_order(
    data_dir: Path, tiny_tokenizer: PromptTokenizer
) -> None:
    source = open_prompt_source(str(data_dir / "sample.jsonl"))
    size = len(source.entries)
    prompts = sample(source, 3 * size + 2, tiny_tokenizer)
    counts = Counter(p.text for p in prompts)
    assert len(counts) == size
    assert max(counts.values()) - min(counts.values()) <= 1
    assert len({p.text for p in prompts[:size]}) == size  # each pass visits every entry once
    assert prompts == sample(source, 3 * size + 2, tiny_tokenizer)


def test_dataset_order_depends_on_the_seed(data_dir: Path, tiny_tokenizer: PromptTokenizer) -> None:
    source = open_prompt_source(str(data_dir / "sample.jsonl"))
    orders = {
        tuple(p.text for p in sample(source, len(source.entries), tiny_tokenizer, seed=s)) for s in range(5)
    }
    assert len(orders) > 1


def test_text_dataset_with_vocab_only_tokenizer_asks_for_a_tokenizer(tmp_path: Path, data_dir: Path) -> None:
    vocab_only = VocabOnlyTokenizer(path=tmp_path, vocab_size=100, special_ids=set(), eos_token_id=None)
    with pytest.raises(ConfigError, match="--tokenizer"):
        sample(open_prompt_source(str(data_dir / "sample.jsonl")), 2, vocab_only)


# --- tokenizer loading -----------------------------------------------------------------------------


def test_tokenizer_encodes_without_special_tokens_and_round_trips(tiny_tokenizer: PromptTokenizer) -> None:
    text = "The morning train left the station — à 7h, naïvely. 🚂"
    ids = tiny_tokenizer.encode(text)
    assert not set(ids) & tiny_tokenizer.special_ids
    assert tiny_tokenizer.decode(ids) == text
    assert tiny_tokenizer.eos_token_id in tiny_tokenizer.special_ids


def test_config_only_directory_gives_a_vocab_only_tokenizer(tmp_path: Path) -> None:
    config = {"vocab_size": 151936, "bos_token_id": 151643, "eos_token_id": 151645}
    (tmp_path / "config.json").write_text(json.dumps(config))
    tokenizer = load_tokenizer(tmp_path)
    assert tokenizer.vocab_size == config["vocab_size"]
    assert tokenizer.eos_token_id == config["eos_token_id"]
    assert tokenizer.special_ids == {config["bos_token_id"], config["eos_token_id"]}
    with pytest.raises(ConfigError, match="--tokenizer"):
        tokenizer.encode("hello")


def test_vocab_size_of_a_multimodal_config_comes_from_text_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"text_config": {"vocab_size": 4242}}))
    assert load_tokenizer(tmp_path).vocab_size == 4242


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (None, "does not exist"),
        ({}, "neither tokenizer files nor config.json"),
        ({"config.json": "{not json"}, "is not valid JSON"),
        ({"config.json": '{"hidden_size": 8}'}, "no vocab_size"),
        ({"tokenizer.json": "{not json"}, "cannot load the tokenizer"),
    ],
)
def test_unusable_tokenizer_directory_is_a_config_error(
    tmp_path: Path, files: dict[str, str] | None, message: str
) -> None:
    path = tmp_path / "model"
    if files is not None:
        path.mkdir()
        for name, content in files.items():
            (path / name).write_text(content)
    with pytest.raises(SpecbenchError, match=message):
        load_tokenizer(path)
