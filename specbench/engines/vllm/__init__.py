"""The vLLM engine: an in-process AsyncLLM behind specbench's Engine protocol.

Nothing here imports vLLM until an engine starts, so specbench works without it installed.
"""

from specbench.engines.vllm.engine import VllmEngine

__all__ = ["VllmEngine"]
