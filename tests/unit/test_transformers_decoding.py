"""How run settings map onto generate(), and which combinations are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from specbench.config import RunConfig  # noqa: E402
from specbench.engines.transformers.decoding import (  # noqa: E402
    CACHE_BUCKET,
    cache_bucket,
    check_supported,
    decoding_kind,
)
from specbench.engines.transformers.loading import resolve_device, resolve_dtype  # noqa: E402
from specbench.engines.transformers.worker import left_pad  # noqa: E402
from specbench.errors import ConfigError, EngineStartError  # noqa: E402

MODEL = Path("/models/target")
DRAFT = Path("/models/draft")


def test_ngram_speculation_runs_as_prompt_lookup() -> None:
    kind = decoding_kind(RunConfig(model=MODEL, method="speculative", speculative={"spec_method": "ngram"}))
    assert kind.assisted and kind.prompt_lookup and not kind.draft_model


def test_draft_ar_serves_the_draft_model_alone() -> None:
    kind = decoding_kind(RunConfig(model=MODEL, draft_model=DRAFT, method="draft-ar"))
    assert kind.generator_is_draft and not kind.assisted


@pytest.mark.parametrize("batching", ["dynamic", "continuous"])
def test_assisted_generation_with_batching_is_refused(batching: str) -> None:
    config = RunConfig(
        model=MODEL, draft_model=DRAFT, method="speculative", transformers={"batching": batching}
    )
    with pytest.raises(ConfigError, match="--batching serial"):
        check_supported(config, decoding_kind(config))


def test_plain_decoding_may_batch_and_compile() -> None:
    config = RunConfig(model=MODEL, transformers={"batching": "dynamic", "compile": True})
    check_supported(config, decoding_kind(config))


def test_cache_bucket_rounds_up_to_whole_buckets() -> None:
    assert cache_bucket(1) == CACHE_BUCKET
    assert cache_bucket(CACHE_BUCKET) == CACHE_BUCKET
    assert cache_bucket(CACHE_BUCKET + 1) == 2 * CACHE_BUCKET


def test_left_pad_aligns_prompts_on_the_right_and_masks_the_padding() -> None:
    ids, mask = left_pad([[5, 6, 7], [8]], pad_id=0, device=torch.device("cpu"))
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_auto_dtype_is_float32_on_cpu_and_bfloat16_on_cuda() -> None:
    assert resolve_dtype("auto", torch.device("cpu")) is torch.float32
    assert resolve_dtype("auto", torch.device("cuda")) is torch.bfloat16
    assert resolve_dtype("half", torch.device("cpu")) is torch.float16


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_explicit_cuda_without_a_gpu_is_a_start_error() -> None:
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(EngineStartError, match="--device cpu"):
        resolve_device("cuda")
