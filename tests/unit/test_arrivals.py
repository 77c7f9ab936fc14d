from __future__ import annotations

import math

import numpy as np
import pytest

from specbench.errors import ConfigError
from specbench.workload.arrivals import arrival_times

SEED = 7
MANY = 20_000  # enough arrivals that sampling error is well below the tolerances used


def poisson(
    rate: float,
    count: int | None = MANY,
    *,
    window_s: float | None = None,
    burstiness: float = 1.0,
    seed: int = SEED,
) -> np.ndarray:
    return arrival_times(
        rate=rate,
        count=count,
        window_s=window_s,
        arrival="poisson",
        burstiness=burstiness,
        rng=np.random.default_rng(seed),
    )


def constant(rate: float, count: int | None, *, window_s: float | None = None) -> np.ndarray:
    return arrival_times(
        rate=rate,
        count=count,
        window_s=window_s,
        arrival="constant",
        burstiness=1.0,
        rng=np.random.default_rng(0),
    )


def gaps(times: np.ndarray) -> np.ndarray:
    # The first arrival is one gap after t=0, so t=0 belongs in front.
    return np.diff(times, prepend=0.0)


def test_poisson_schedule_has_requested_mean_rate() -> None:
    rate = 20.0
    mean_gap = gaps(poisson(rate)).mean()
    # Exponential gaps: the mean of n has relative standard error 1/sqrt(n); allow 4 of them.
    assert mean_gap == pytest.approx(1 / rate, rel=4 / math.sqrt(MANY))


def test_poisson_gaps_are_exponential() -> None:
    stats = pytest.importorskip("scipy.stats")
    rate = 5.0
    observed = gaps(poisson(rate))
    assert stats.kstest(observed, "expon", args=(0, 1 / rate)).pvalue > 0.01
    assert observed.std() / observed.mean() == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("burstiness", [0.25, 0.5, 2.0, 4.0])
def test_gamma_gaps_have_cv_of_inverse_sqrt_burstiness_and_keep_the_rate(burstiness: float) -> None:
    rate = 10.0
    observed = gaps(poisson(rate, burstiness=burstiness))
    assert observed.std() / observed.mean() == pytest.approx(1 / math.sqrt(burstiness), rel=0.1)
    assert observed.mean() == pytest.approx(1 / rate, rel=0.05)


def test_burstiness_below_one_is_burstier_than_poisson() -> None:
    bursty = gaps(poisson(10.0, burstiness=0.3))
    assert bursty.std() / bursty.mean() > 1.0


def test_gamma_gaps_follow_the_gamma_distribution() -> None:
    stats = pytest.importorskip("scipy.stats")
    rate, burstiness = 4.0, 0.5
    observed = gaps(poisson(rate, burstiness=burstiness))
    scale = 1 / (rate * burstiness)
    assert stats.kstest(observed, "gamma", args=(burstiness, 0, scale)).pvalue > 0.01


def test_constant_arrivals_are_evenly_spaced_from_one_gap_after_start() -> None:
    rate = 8.0
    times = constant(rate, 100)
    np.testing.assert_allclose(gaps(times), 1 / rate, rtol=1e-12)
    assert times[0] == pytest.approx(1 / rate)


def test_poisson_first_arrival_is_after_start() -> None:
    assert poisson(3.0, 10)[0] > 0.0


def test_infinite_rate_sends_everything_at_once() -> None:
    times = poisson(math.inf, 50)
    assert times.shape == (50,)
    assert not times.any()


def test_schedule_is_ascending() -> None:
    assert np.all(np.diff(poisson(50.0, 1000, burstiness=0.2)) >= 0)


def test_count_mode_gives_exactly_count_arrivals() -> None:
    assert poisson(2.0, 37).shape == (37,)


def test_count_mode_drops_arrivals_at_or_after_the_window() -> None:
    rate, window = 10.0, 2.0
    times = constant(rate, 50, window_s=window)
    assert times.max() < window
    # k/rate for k = 1, 2, … strictly before the window; the one landing exactly on it is dropped.
    assert times.size == sum(1 for k in range(1, 51) if k / rate < window)


def test_rate_mode_fills_the_window_and_stays_inside_it() -> None:
    rate, window = 40.0, 30.0
    times = poisson(rate, None, window_s=window)
    assert times.min() >= 0.0
    assert times.max() < window
    expected = rate * window  # Poisson count: standard deviation sqrt(expected); allow 5 of them
    assert abs(times.size - expected) < 5 * math.sqrt(expected)


def test_rate_mode_constant_covers_the_whole_window() -> None:
    rate, window = 10.0, 3.05
    times = constant(rate, None, window_s=window)
    assert times.size == math.floor(rate * window)
    assert window - times[-1] < 1 / rate


def test_rate_mode_longer_than_one_draw_block_is_a_single_poisson_process() -> None:
    # Windows much longer than the initial block force several draws; the joins must not show.
    times = poisson(1.0, None, window_s=2_000.0)
    observed = gaps(times)
    assert np.all(observed > 0)
    assert observed.mean() == pytest.approx(1.0, rel=5 / math.sqrt(times.size))


def test_same_seed_gives_identical_schedule() -> None:
    np.testing.assert_array_equal(poisson(7.0, 500, seed=3), poisson(7.0, 500, seed=3))
    np.testing.assert_array_equal(
        poisson(7.0, None, window_s=60.0, seed=3), poisson(7.0, None, window_s=60.0, seed=3)
    )


def test_different_seeds_give_different_schedules() -> None:
    assert not np.array_equal(poisson(7.0, 500, seed=3), poisson(7.0, 500, seed=4))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": math.inf, "count": None, "window_s": 10.0}, "finite --rate"),
        ({"rate": 1.0, "count": None, "window_s": None}, "--num-prompts"),
        ({"rate": 0.0, "count": 10, "window_s": None}, "positive"),
        ({"rate": 1.0, "count": 10, "window_s": None, "burstiness": 0.0}, "burstiness"),
        ({"rate": 1.0, "count": 10, "window_s": None, "arrival": "uniform"}, "poisson or constant"),
        ({"rate": 1.0, "count": -1, "window_s": None}, "negative"),
        ({"rate": 1.0, "count": 10, "window_s": 0.0}, "window"),
    ],
)
def test_bad_schedule_settings_are_config_errors(kwargs: dict, message: str) -> None:
    settings = {"arrival": "poisson", "burstiness": 1.0, **kwargs}
    with pytest.raises(ConfigError, match=message):
        arrival_times(**settings, rng=np.random.default_rng(0))
