from __future__ import annotations

import json
from pathlib import Path

import pytest

from specbench import tiny_model
from specbench.errors import ConfigError
from specbench.tiny_model import (
    TinyModels,
    build_tiny_model,
    default_cache_dir,
    ensure_tiny_models,
)

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def load(path: Path) -> transformers.PreTrainedModel:
    return transformers.AutoModelForCausalLM.from_pretrained(str(path)).eval()


def config_of(path: Path) -> dict:
    return json.loads((path / "config.json").read_text())


def test_tiny_models_load_with_transformers(tiny_models: TinyModels) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_models.target))
    for path in (tiny_models.target, tiny_models.draft):
        model = load(path)
        assert model.config.vocab_size == len(tokenizer)
        ids = torch.tensor([tokenizer.encode("The morning train left the station")])
        with torch.no_grad():
            assert model(ids).logits.shape == (1, ids.shape[1], len(tokenizer))
    assert tokenizer.eos_token_id is not None and tokenizer.bos_token_id is not None


def test_tiny_models_suit_vllm_cpu_attention(tiny_models: TinyModels) -> None:
    for path in (tiny_models.target, tiny_models.draft):
        config = config_of(path)
        assert config["head_dim"] >= 32
        assert config["hidden_size"] == config["head_dim"] * config["num_attention_heads"]
        assert config["max_position_embeddings"] >= 2048
        assert (path / "model.safetensors").is_file()
        assert (path / "generation_config.json").is_file()


def test_draft_is_a_smaller_model_with_the_same_tokenizer(tiny_models: TinyModels) -> None:
    target, draft = config_of(tiny_models.target), config_of(tiny_models.draft)
    assert draft["num_hidden_layers"] < target["num_hidden_layers"]
    assert draft["vocab_size"] == target["vocab_size"]
    tokenizer_files = ("tokenizer.json", "tokenizer_config.json")
    for name in tokenizer_files:
        assert (tiny_models.draft / name).read_bytes() == (tiny_models.target / name).read_bytes()


def test_draft_is_the_target_truncated(tiny_models: TinyModels) -> None:
    target, draft = load(tiny_models.target).state_dict(), load(tiny_models.draft).state_dict()
    assert set(draft) < set(target)
    for name, weight in draft.items():
        assert torch.equal(weight, target[name]), name


def test_draft_predicts_the_targets_greedy_tokens_often_but_not_always(tiny_models: TinyModels) -> None:
    target, draft = load(tiny_models.target), load(tiny_models.draft)
    vocab = target.config.vocab_size
    prompts = torch.randint(3, vocab, (4, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        text = target.generate(prompts, max_new_tokens=64, do_sample=False)
        wanted = target(text).logits.argmax(-1)[:, 15:-1]
        guessed = draft(text).logits.argmax(-1)[:, 15:-1]
    agreement = (wanted == guessed).float().mean().item()
    # Chance is 1/vocab; a useful draft for benchmarking speculative decoding is right a good part of
    # the time, and a draft that is always right would make acceptance trivially perfect.
    assert 0.2 < agreement < 1.0


def test_tokenizer_has_the_advertised_vocabulary(tiny_models: TinyModels) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_models.target))
    assert len(tokenizer) == tiny_model.VOCAB_SIZE


def test_build_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    first = build_tiny_model(tmp_path / "a", num_layers=1, hidden_size=64, seed=3)
    second = build_tiny_model(tmp_path / "b", num_layers=1, hidden_size=64, seed=3)
    other = build_tiny_model(tmp_path / "c", num_layers=1, hidden_size=64, seed=4)
    weights = {p: (p / "model.safetensors").read_bytes() for p in (first, second, other)}
    assert weights[first] == weights[second]
    assert weights[first] != weights[other]
    assert (first / "tokenizer.json").read_bytes() == (other / "tokenizer.json").read_bytes()


def test_build_accepts_variant_shapes(tmp_path: Path) -> None:
    path = build_tiny_model(tmp_path / "wide", num_layers=2, hidden_size=128, seed=0, head_dim=64)
    config = config_of(path)
    assert (config["num_hidden_layers"], config["hidden_size"], config["head_dim"]) == (2, 128, 64)
    assert load(path).num_parameters() > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_size": 100}, "multiple of head_dim"),
        ({"num_layers": 0}, "num_layers"),
        ({"dtype": "int8"}, "dtype"),
    ],
)
def test_bad_build_settings_are_config_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    settings = {"num_layers": 1, "hidden_size": 64, "seed": 0, **kwargs}
    with pytest.raises(ConfigError, match=message):
        build_tiny_model(tmp_path / "m", **settings)


def test_models_are_built_once_and_then_reused(tiny_models: TinyModels) -> None:
    cache_root = tiny_models.target.parent.parent
    weights = tiny_models.target / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert ensure_tiny_models(cache_root) == tiny_models
    assert weights.stat().st_mtime_ns == before


def test_failed_build_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(out_dir: Path, **_: object) -> Path:
        out_dir.mkdir(parents=True)
        (out_dir / "config.json").write_text("{}")  # half-written
        raise RuntimeError("disk full")

    monkeypatch.setattr(tiny_model, "build_tiny_model", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        ensure_tiny_models(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_losing_the_race_to_another_builder_uses_its_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / f"tiny-models-v{tiny_model.TINY_MODEL_VERSION}"

    def build_while_another_process_finishes(out_dir: Path, **_: object) -> Path:
        for name in ("target", "draft"):  # the other process renames its complete build into place
            (final / name).mkdir(parents=True, exist_ok=True)
            (final / name / "config.json").write_text('{"winner": true}')
        out_dir.mkdir(parents=True)
        (out_dir / "config.json").write_text('{"winner": false}')
        return out_dir

    monkeypatch.setattr(tiny_model, "build_tiny_model", build_while_another_process_finishes)
    models = ensure_tiny_models(tmp_path)
    assert config_of(models.target) == {"winner": True}
    assert [p.name for p in tmp_path.iterdir()] == [final.name]


def test_incomplete_cache_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / f"tiny-models-v{tiny_model.TINY_MODEL_VERSION}" / "target").mkdir(parents=True)
    with pytest.raises(ConfigError, match="delete it"):
        ensure_tiny_models(tmp_path)


def test_cache_dir_follows_specbench_cache_then_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECBENCH_CACHE", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("SPECBENCH_CACHE")
    assert default_cache_dir() == tmp_path / "xdg" / "specbench"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "specbench"


def test_a_small_vocabulary_model_has_the_vocabulary_asked_for_and_still_round_trips_text(tmp_path) -> None:
    path = build_tiny_model(tmp_path / "small", num_layers=1, hidden_size=64, seed=0, vocab_size=334)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path))
    assert len(tokenizer) == 334 == load(path).config.vocab_size
    ids = tokenizer.encode("Hello, how are you today?", add_special_tokens=False)
    assert max(ids) < 334 and tokenizer.decode(ids) == "Hello, how are you today?"
