"""The notes under a run's summary are in a user's words; how figures are measured lives in the result's
engine settings and the docs, not on every run's screen."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from specbench.config import RunConfig
from specbench.engines.transformers.engine import TransformersEngine

INTERNAL_WORDS = ("put()", "streamer", "perf_counter", "generate()", "max_new_tokens", "event loop")


@pytest.mark.parametrize("batching", ["serial", "dynamic"])
def test_transformers_notes_use_no_internal_words_and_keep_the_method_in_the_settings(batching: str) -> None:
    info = TransformersEngine(RunConfig(transformers={"batching": batching})).describe()
    for note in info.notes:
        assert not any(word in note for word in INTERNAL_WORDS), note
    assert "inside the streamer's put()" in info.settings["token_times"]
