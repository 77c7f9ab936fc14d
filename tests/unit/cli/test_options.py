"""`run`'s flags come from RunConfig's fields: every field has one (or is named file-only), help is the
field's description with its allowed values, and the type follows the field's."""

from __future__ import annotations

import inspect

from specbench.cli import main
from specbench.cli.options import (
    FILE_ONLY,
    FLAG_KEYS,
    FLAGS,
    config_fields,
    field_help,
    field_metavar,
    parse_flags,
)
from specbench.cli.run import run


def test_every_setting_has_a_flag_or_is_listed_as_file_only() -> None:
    missing = [key for key, _ in config_fields() if key not in FLAG_KEYS.values() and key not in FILE_ONLY]
    assert missing == []


def test_no_two_flags_set_one_setting_and_the_explicit_table_names_real_settings() -> None:
    assert len(set(FLAG_KEYS.values())) == len(FLAG_KEYS)
    assert set(FLAGS) <= {key for key, _ in config_fields()}


def test_a_leaf_name_taken_by_an_earlier_setting_gets_its_section_as_prefix() -> None:
    assert FLAG_KEYS["dtype"] == "dtype"
    assert FLAG_KEYS["vllm_dtype"] == "vllm.dtype"


def test_the_seeds_flag_names_are_kept() -> None:
    assert FLAG_KEYS["ngram_min"] == "speculative.ngram_prompt_lookup_min"
    assert FLAG_KEYS["output"] == "output.path"
    assert FLAG_KEYS["sweep"] == "sweep.points"
    assert FLAG_KEYS["gpu_telemetry"] == "telemetry.enabled"


def test_help_is_the_fields_description_and_its_choices_are_the_metavar() -> None:
    assert field_metavar("workload.arrival") == "[poisson|constant]"
    assert field_metavar("workload.input_len") is None
    assert field_help("workload.input_len") == "Prompt length in tokens (synthetic prompts)."


def test_the_command_has_one_parameter_per_flag() -> None:
    params = inspect.signature(run).parameters
    assert set(FLAG_KEYS) <= set(params) and {"profile", "dry_run"} <= set(params)


def test_an_axis_takes_several_values_and_a_number_flag_one() -> None:
    flags = parse_flags({"rate": "1,2", "engine": "echo", "input_len": 5, "percentiles": "99", "seed": None})
    assert flags == {
        "workload.rate": [1.0, 2.0],
        "engine": "echo",
        "workload.input_len": 5,
        "percentiles": [99.0],
    }


def test_the_new_vllm_dtype_flag_reaches_the_setting(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--engine", "echo", "--vllm-dtype", "half", "--dry-run"]) == 0
    assert "flag --vllm-dtype" in capsys.readouterr().out


def test_a_field_of_one_value_or_several_reads_a_comma_separated_list() -> None:
    from specbench.cli.options import _value_type

    assert _value_type(int | list[int] | None) == list[int]
    assert _value_type(float | None) is float
