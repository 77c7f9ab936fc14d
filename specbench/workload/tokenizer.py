"""The tokenizer the workload needs: exact prompt lengths in the model's own token ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from specbench.errors import ConfigError
from specbench.model_dir import has_tokenizer, read_model_config, setting

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

_SPECIAL_ID_KEYS = ("bos_token_id", "eos_token_id", "pad_token_id")


class PromptTokenizer(Protocol):
    """What building a workload needs from a tokenizer."""

    @property
    def vocab_size(self) -> int: ...

    @property
    def special_ids(self) -> set[int]: ...

    @property
    def eos_token_id(self) -> int | None: ...

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, with no special tokens added."""
        ...

    def decode(self, ids: Sequence[int]) -> str: ...


@dataclass(slots=True)
class HFPromptTokenizer:
    """A Transformers tokenizer behind the PromptTokenizer interface."""

    tokenizer: PreTrainedTokenizerBase
    special_ids: set[int] = field(init=False)

    def __post_init__(self) -> None:
        added_special = {i for i, tok in self.tokenizer.added_tokens_decoder.items() if tok.special}
        self.special_ids = set(self.tokenizer.all_special_ids) | added_special

    @property
    def vocab_size(self) -> int:
        # The base vocabulary, without added tokens: what vLLM's random dataset samples from.
        return int(self.tokenizer.vocab_size)

    @property
    def eos_token_id(self) -> int | None:
        return self.tokenizer.eos_token_id

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids))


@dataclass(frozen=True, slots=True)
class VocabOnlyTokenizer:
    """Stands in for a tokenizer when a model directory has only config.json (dummy-weight runs).

    Enough for synthetic prompts, which are random token ids; text datasets need the real thing.
    """

    path: Path
    vocab_size: int
    special_ids: set[int]
    eos_token_id: int | None

    def encode(self, text: str) -> list[int]:
        raise self._needs_tokenizer()

    def decode(self, ids: Sequence[int]) -> str:
        raise self._needs_tokenizer()

    def _needs_tokenizer(self) -> ConfigError:
        return ConfigError(
            f"{self.path} has no tokenizer files, only config.json: text datasets need a tokenizer "
            "(pass --tokenizer DIR, or use --dataset random)"
        )


@dataclass(frozen=True, slots=True)
class SyntheticTokenizer:
    """For runs where no model runs in this process and the prompts are random token ids (the echo
    engine): a vocabulary size is all they need, so no tokenizer library is imported."""

    vocab_size: int = 32000
    special_ids: set[int] = field(default_factory=lambda: {0, 1, 2})
    eos_token_id: int | None = 2

    def encode(self, text: str) -> list[int]:
        raise ConfigError("text datasets need a tokenizer: pass --tokenizer DIR (or --model DIR)")

    def decode(self, ids: Sequence[int]) -> str:
        raise ConfigError("text datasets need a tokenizer: pass --tokenizer DIR (or --model DIR)")


def load_tokenizer(path: Path, *, trust_remote_code: bool = False) -> PromptTokenizer:
    """The tokenizer in `path`, or a vocab-only stand-in when it holds just config.json."""
    if not path.is_dir():
        raise ConfigError(f"tokenizer directory {path} does not exist (check --model / --tokenizer)")
    if has_tokenizer(path):
        return _load_hf_tokenizer(path, trust_remote_code=trust_remote_code)
    if (path / "config.json").is_file():
        return _vocab_only_tokenizer(path)
    raise ConfigError(f"{path} has neither tokenizer files nor config.json: is it a model directory?")


def _load_hf_tokenizer(path: Path, *, trust_remote_code: bool) -> HFPromptTokenizer:
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise ConfigError(
            "reading a tokenizer needs transformers: pip install 'specbench[transformers]'"
        ) from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    except Exception as exc:  # Transformers raises many types here; the user needs only the reason
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot load the tokenizer in {path}: {reason}") from exc
    return HFPromptTokenizer(tokenizer)


def _vocab_only_tokenizer(path: Path) -> VocabOnlyTokenizer:
    config = read_model_config(path)
    vocab_size = setting(config, "vocab_size")
    if not isinstance(vocab_size, int) or vocab_size < 1:
        raise ConfigError(
            f"{path / 'config.json'} has no vocab_size (nor text_config.vocab_size), which the model needs: "
            "add the model's vocabulary size to that file"
        )
    ids = {name: _as_ids(setting(config, name)) for name in _SPECIAL_ID_KEYS}
    return VocabOnlyTokenizer(
        path=path,
        vocab_size=vocab_size,
        special_ids={i for group in ids.values() for i in group},
        eos_token_id=ids["eos_token_id"][0] if ids["eos_token_id"] else None,
    )


def _as_ids(value: object) -> list[int]:
    """config.json gives a token id as an int, a list of ints (several EOS tokens) or null."""
    if isinstance(value, int):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int)]
    return []
