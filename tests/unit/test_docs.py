"""The docs name every setting and every environment variable, so they cannot drift silently."""

import runpy
from pathlib import Path

from pydantic import BaseModel

from specbench.config import RunConfig
from specbench.settings import ENV_VARS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            keys += config_keys(field.annotation, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def test_configuration_doc_lists_every_setting_and_environment_variable():
    text = (DOCS / "CONFIGURATION.md").read_text()
    missing = [key for key in config_keys(RunConfig) if f"`{key}`" not in text]
    missing += [var for var in ENV_VARS if f"`{var}`" not in text]
    assert not missing


def test_readme_documents_every_environment_variable():
    text = (DOCS.parent / "README.md").read_text()
    assert [var for var in ENV_VARS if f"`{var}`" not in text] == []


def test_configuration_doc_is_generated_from_the_current_config():
    render = runpy.run_path(str(DOCS / "gen_configuration.py"))["render"]
    assert (DOCS / "CONFIGURATION.md").read_text() == render(), "run: python docs/gen_configuration.py"


def test_metrics_doc_table_is_generated_from_the_current_registry():
    module = runpy.run_path(str(DOCS / "gen_metrics.py"))
    text = (DOCS / "METRICS.md").read_text()
    assert text == module["render"](text), "run: python docs/gen_metrics.py"
