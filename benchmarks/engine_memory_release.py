"""How much GPU memory an engine session leaves behind once shut down.

A head-to-head starts its engines one after the other in one process; vLLM refuses to start when less free
memory is left than its gpu_memory_utilization asks for. This prints free memory before, while and after a
session of the chosen engine.

    python3 benchmarks/engine_memory_release.py --model /root/models/qwen3-8b --dummy-weights [--engine vllm]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import torch

from specbench.config import RunConfig
from specbench.session.engine_session import EngineSession


def free_gib() -> tuple[float, float]:
    free, total = torch.cuda.mem_get_info()
    return free / 2**30, total / 2**30


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--engine", default="transformers")
    parser.add_argument("--dummy-weights", action="store_true")
    args = parser.parse_args()
    config = RunConfig.model_validate(
        {"engine": args.engine, "model": args.model, "dummy_weights": args.dummy_weights}
    )
    print(f"before:  {free_gib()[0]:.1f} of {free_gib()[1]:.1f} GiB free")
    async with EngineSession(config):
        print(f"started: {free_gib()[0]:.1f} GiB free")
    allocated, reserved = torch.cuda.memory_allocated() / 2**30, torch.cuda.memory_reserved() / 2**30
    print(
        f"after:   {free_gib()[0]:.1f} GiB free "
        f"(torch here: {allocated:.2f} GiB allocated, {reserved:.2f} reserved)"
    )


if __name__ == "__main__":
    asyncio.run(main())
