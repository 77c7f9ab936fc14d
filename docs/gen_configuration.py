"""Writes docs/CONFIGURATION.md from the config model, the CLI flags and the environment-variable table.

Run `python docs/gen_configuration.py` after changing a setting; tests/unit/test_docs.py fails while the
file is out of date.
"""

from pathlib import Path

from pydantic import BaseModel

from specbench.cli.options import FLAG_KEYS
from specbench.config import RunConfig
from specbench.settings import ENV_VARS

HEADER = """# Configuration

Every setting of `specbench run`, declared once in `specbench/config.py`. A value comes from, highest first:
**the flag you typed > an environment variable > the profile (`--profile`) > the default**. `--dry-run`
prints the resolved configuration and the source of every value. In a profile (YAML), settings nest by
section, e.g.

```yaml
engine: vllm
workload:
  rate: 4.0
  duration: 120
  num_prompts: 0      # 0 = rate mode: send for `duration` seconds
vllm:
  max_num_seqs: 256
```

Count mode vs rate mode: with `num_prompts` N > 0 exactly N requests are sent (a `duration`, if also set,
caps the sending time); with `num_prompts` 0 and a `duration`, requests are sent at `rate` until `duration`
elapses; with neither, 100 requests. A rate of `inf` sends every request at once (count mode only).

## Top level

"""
TABLE_HEAD = "| profile key | flag | environment | default | meaning |\n| --- | --- | --- | --- | --- |"


def _default(value: object) -> str:
    value = getattr(value, "value", value)
    if value == float("inf"):
        return "inf"
    return "unset" if value is None else str(value)


def _section(model: type[BaseModel], prefix: str, lines: list[str]) -> None:
    env_for = {var.key: name for name, var in ENV_VARS.items()}
    flag_for = {key: "--" + param.replace("_", "-") for param, key in FLAG_KEYS.items()}
    nested = []
    lines.append(TABLE_HEAD)
    for name, field in model.model_fields.items():
        key = prefix + name
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            nested.append((key, field.annotation))
            continue
        flag = f"`{flag_for[key]}`" if key in flag_for else ""
        env = f"`{env_for[key]}`" if key in env_for else ""
        meaning = (field.description or "").replace("|", "/")
        lines.append(f"| `{key}` | {flag} | {env} | `{_default(field.default)}` | {meaning} |")
    for key, section in nested:
        lines.append(f"\n## `{key}`\n")
        _section(section, key + ".", lines)


def render() -> str:
    lines: list[str] = []
    _section(RunConfig, "", lines)
    return HEADER + "\n".join(lines) + "\n"


if __name__ == "__main__":
    (Path(__file__).parent / "CONFIGURATION.md").write_text(render())
