"""specbench: trustworthy LLM inference benchmarks for Transformers and vLLM."""

__version__ = "0.1.0"
