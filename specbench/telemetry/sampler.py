"""The GPU sampler of a run: a background thread reading the run's GPUs every `interval_s`.

It is a phase listener of the dispatcher (runner.dispatcher.PhaseListener), so it knows the measured window;
at each edge of the window it takes a round at once, so the window's edges are bracketed by samples a few
milliseconds apart. The thread never touches the event loop: the live view reads `latest()`, and the
result is built from the rounds after `stop()`. A failing reading is recorded and sampling goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from specbench.results.gpus import DecodeRoofline, GpuDevice, GpuSection, SamplerError
from specbench.telemetry.devices import RunGpu, device_facts, nvml_gpus, order_note, run_gpus
from specbench.telemetry.nvml import Nvml, TelemetryUnavailable
from specbench.telemetry.readings import DeviceReader, GpuReading
from specbench.telemetry.window import energy_source, gpu_window, timeline

# runner.dispatcher.Phase values (a StrEnum): the runner sits above telemetry, so they are matched by value.
MEASURE_START = "measure_start"
MEASURE_END = "measure_end"
# How long stop() waits for a round in progress (NVML calls take microseconds; a hung driver does not).
_JOIN_TIMEOUT_S = 5.0


@dataclass(slots=True)
class _ErrorCount:
    first_at: float
    count: int = 1


class GpuSampler:
    """Samples the given GPUs from its own thread between start() and stop()."""

    def __init__(
        self,
        nvml: Nvml,
        gpus: Sequence[RunGpu],
        devices: Sequence[GpuDevice],
        *,
        interval_s: float,
        driver_version: str | None = None,
        notes: Sequence[str] = (),
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.devices = list(devices)
        self.interval_s = interval_s
        self._nvml = nvml
        self._readers = [DeviceReader(nvml, run_gpu.gpu.handle) for run_gpu in gpus]
        self._driver_version = driver_version
        self._notes = list(notes)
        self._clock = clock
        self._times: list[float] = []
        self._rounds: list[tuple[GpuReading, ...]] = []
        self._latest: tuple[GpuReading, ...] | None = None
        self._errors: dict[tuple[int | None, str], _ErrorCount] = {}
        self._window_start: float | None = None
        self._window_end: float | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def open(
        cls, cuda_devices: Sequence[int], *, interval_s: float, environ: Mapping[str, str]
    ) -> GpuSampler:
        """A sampler for the engine's CUDA devices; TelemetryUnavailable (one line) when there can be none."""
        nvml = Nvml.open()
        try:
            chosen = run_gpus(nvml, cuda_devices, environ)
            devices = [device_facts(nvml, run_gpu.gpu, run_gpu.cuda_device) for run_gpu in chosen]
            note = order_note(nvml_gpus(nvml), environ)
            driver = nvml.driver_version()
        except TelemetryUnavailable:
            nvml.close()
            raise
        except nvml.lib.NVMLError as exc:
            nvml.close()
            raise TelemetryUnavailable(f"NVML failed while describing the GPUs: {exc}") from None
        return cls(
            nvml, chosen, devices, interval_s=interval_s, driver_version=driver, notes=[note] if note else []
        )

    # -- the sampling thread -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="specbench-gpu-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_due = self._clock()
        while True:
            self._take_round()
            # The last round comes after stop() was asked for, so it lies after the window's end.
            if self._stopping.is_set():
                return
            next_due += self.interval_s
            now = self._clock()
            if next_due <= now:  # fell behind (a slow round): skip the missed rounds, do not burst
                next_due = now + self.interval_s
            self._wake.wait(next_due - now)
            self._wake.clear()

    def _take_round(self) -> None:
        at = self._clock()
        readings = []
        for position, reader in enumerate(self._readers):
            try:
                reading, errors = reader.read()
            except Exception as exc:  # never let the thread die: the rest of the run is still sampled
                reading, errors = GpuReading(), [f"{type(exc).__name__}: {exc}"]
            readings.append(reading)
            for message in errors:
                self._record_error(self.devices[position].index, message, at)
        row = tuple(readings)
        self._times.append(at)
        self._rounds.append(row)
        self._latest = row

    def _record_error(self, gpu: int | None, message: str, at: float) -> None:
        seen = self._errors.get((gpu, message))
        if seen is None:
            self._errors[(gpu, message)] = _ErrorCount(first_at=at)
        else:
            seen.count += 1

    def stop(self) -> None:
        """Take a last round, end the thread and release NVML. Safe to call twice."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self._wake.set()
        thread.join(_JOIN_TIMEOUT_S)
        if thread.is_alive():
            # A round is stuck in the driver: leave NVML open rather than shut it down under the thread.
            self._record_error(None, f"the sampler did not stop within {_JOIN_TIMEOUT_S:g} s", self._clock())
            return
        self._nvml.close()

    # -- phase listener (called on the event loop: only records the moment and wakes the thread) -----

    async def on_phase(self, phase: str, at: float) -> None:
        if phase == MEASURE_START:
            self._window_start = at
        elif phase == MEASURE_END:
            self._window_end = at
        else:
            return
        self._wake.set()

    # -- what was sampled -----------------------------------------------------------------------------

    def latest(self) -> tuple[GpuReading, ...] | None:
        """The last round, one reading per GPU in `devices` order (None before the first)."""
        return self._latest

    def section(self, roofline: DecodeRoofline | None = None, notes: Sequence[str] = ()) -> GpuSection:
        """The result's `gpus` section; call after stop()."""
        # Copies of equal length: a sampler that did not stop may still be appending.
        count = min(len(self._times), len(self._rounds))
        times, rounds = np.array(self._times[:count], dtype=float), self._rounds[:count]
        start, end = self._window_start, self._window_end
        origin = start if start is not None else (float(times[0]) if count else 0.0)
        windows = []
        if start is not None and end is not None:
            windows = [
                gpu_window(device.index, times, [row[position] for row in rounds], start, end)
                for position, device in enumerate(self.devices)
            ]
        return GpuSection(
            driver_version=self._driver_version,
            interval_s=self.interval_s,
            window_s=end - start if start is not None and end is not None else None,
            energy_source=energy_source(windows),
            devices=self.devices,
            window=windows,
            roofline=roofline,
            timeline=timeline(times, rounds, origin),
            errors=[
                SamplerError(
                    message=message, gpu=gpu, first_s=round(seen.first_at - origin, 3), count=seen.count
                )
                for (gpu, message), seen in list(self._errors.items())
            ],
            notes=[*self._notes, *notes],
        )
