"""The run-level GPU figures of the metric registry (source "telemetry"), from the `gpus` section and the
measured requests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from specbench.records import RequestRecord
from specbench.results.gpus import GpuSection


def gpu_figures(section: GpuSection, records: Sequence[RequestRecord]) -> dict[str, float | None]:
    """mean_gpu_utilization … decode_bandwidth_utilization; a figure the samples cannot give is None.

    Output tokens and TPOT are counted as the record figures count them: completed requests only.
    """
    windows = section.window
    utilization = [w.gpu_utilization_pct.mean for w in windows if w.gpu_utilization_pct.mean is not None]
    memory = [w.memory_used_gib.max for w in windows if w.memory_used_gib.max is not None]
    energies = [w.energy_j for w in windows]
    # Energy of some GPUs only would understate the run's: all or nothing.
    energy = sum(e for e in energies if e is not None) if windows and None not in energies else None
    done = [record for record in records if record.success]
    output_tokens = sum(record.output_tokens for record in done)
    tpots = [record.tpot_ms for record in done if record.tpot_ms is not None]
    roofline = section.roofline.tokens_per_s if section.roofline is not None else None
    mean_tpot = float(np.mean(tpots)) if tpots else None
    return {
        "mean_gpu_utilization": float(np.mean(utilization)) if utilization else None,
        "max_gpu_memory_used_gib": max(memory) if memory else None,
        "mean_power_w": energy / section.window_s if energy is not None and section.window_s else None,
        "energy_j": energy,
        "joules_per_output_token": energy / output_tokens if energy is not None and output_tokens else None,
        "output_tokens_per_joule": output_tokens / energy if energy else None,
        "decode_roofline_tok_s": roofline,
        "decode_bandwidth_utilization": (1000 / mean_tpot / roofline if roofline and mean_tpot else None),
    }
