"""The Hugging Face Transformers engine (generate(), assisted generation, continuous batching)."""

from specbench.engines.transformers.engine import TransformersEngine

__all__ = ["TransformersEngine"]
