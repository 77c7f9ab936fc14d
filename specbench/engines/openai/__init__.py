"""The openai engine: a model served elsewhere behind an OpenAI-compatible API, measured over HTTP.

Its client needs httptools and orjson (the `http` extra); nothing else is imported until it is used.
"""

from specbench.engines.openai.engine import OpenAIEngine

__all__ = ["OpenAIEngine"]
