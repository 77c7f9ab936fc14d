"""The API key: read from the variable named, sent as a bearer token, never repeated anywhere."""

from __future__ import annotations

import pytest

from specbench.engines.openai.credentials import ApiKey
from specbench.errors import ConfigError, EngineStartError
from specbench.settings import resolve_plan

SECRET = "sk-test-5ecret-do-not-show"


def test_the_key_is_read_from_the_named_variable_and_sent_as_a_bearer_token() -> None:
    key = ApiKey.from_env("MY_KEY", {"MY_KEY": SECRET})
    assert key.headers() == {"Authorization": f"Bearer {SECRET}"}


def test_no_variable_named_means_no_key_and_no_header() -> None:
    key = ApiKey.from_env(None, {"OPENAI_API_KEY": SECRET})
    assert key.headers() == {}
    assert key.describe() is None


def test_a_named_variable_that_is_not_set_is_one_clear_error() -> None:
    with pytest.raises(EngineStartError, match=r"--api-key-env MY_KEY: that environment variable is not set"):
        ApiKey.from_env("MY_KEY", {})


def test_the_key_never_shows_in_its_description_or_repr() -> None:
    key = ApiKey.from_env("MY_KEY", {"MY_KEY": SECRET})
    assert key.describe() == "from $MY_KEY"
    assert SECRET not in repr(key) and SECRET not in str(key)


def test_scrub_hides_the_key_in_what_a_server_sent_back() -> None:
    key = ApiKey.from_env("MY_KEY", {"MY_KEY": SECRET})
    assert key.scrub(f"Incorrect API key provided: {SECRET}.") == "Incorrect API key provided: ***."
    assert key.scrub("nothing to hide") == "nothing to hide"


def test_a_key_typed_where_its_variable_name_goes_is_refused_without_repeating_it() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_plan(
            profile=None,
            flags={"engine": "openai", "openai.api_key_env": SECRET},
            flag_names={"openai.api_key_env": "--api-key-env"},
            environ={},
        )
    assert "--api-key-env" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_credentials_in_the_base_url_are_refused_without_repeating_them() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_plan(
            profile=None,
            flags={"engine": "openai", "openai.base_url": f"http://user:{SECRET}@host:8000/v1"},
            flag_names={"openai.base_url": "--base-url"},
            environ={},
        )
    assert "--api-key-env" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_key_with_a_line_break_is_refused_before_it_can_make_a_header() -> None:
    with pytest.raises(EngineStartError, match=r"\$MY_KEY holds a line break") as caught:
        ApiKey.from_env("MY_KEY", {"MY_KEY": "abc\r\nX-Injected: 1"})
    assert "abc" not in str(caught.value)
