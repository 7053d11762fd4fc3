"""hub.retry.Backoff: doubling, capped, jittered into the interval's upper half, reset after a success."""

from __future__ import annotations

import itertools
import random

import pytest

from hub.retry import Backoff


def _rand(*values: float):
    it = itertools.cycle(values)
    return lambda: next(it)


def test_delays_double_to_the_cap_without_jitter():
    b = Backoff(0.2, 1.0, jitter=0.0)
    assert [b.next() for _ in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]


def test_jitter_draws_from_the_upper_part_of_each_interval():
    # rand 0 -> the nominal delay; rand 1 -> half of it (jitter 0.5); rand 0.5 -> three quarters
    b = Backoff(1.0, 8.0, rand=_rand(0.0, 1.0, 0.5, 0.0))
    assert [b.next() for _ in range(4)] == [1.0, 1.0, 3.0, 8.0]


def test_nominal_is_the_bound_of_the_next_delay_and_reset_starts_over():
    b = Backoff(0.5, 30.0, rand=_rand(1.0))
    assert b.nominal == 0.5
    b.next()
    b.next()
    assert b.nominal == 2.0
    b.reset()
    assert (b.nominal, b.next()) == (0.5, 0.25)


def test_many_clients_spread_their_retries():

    delays = {round(Backoff(1.0, 1.0, rand=random.Random(seed).random).next(), 6) for seed in range(20)}
    assert len(delays) == 20 and all(0.5 <= d <= 1.0 for d in delays)


@pytest.mark.parametrize(("first", "most", "jitter"), [(0, 1, 0.5), (2, 1, 0.5), (1, 2, 1.5), (1, 2, -0.1)])
def test_nonsense_is_refused(first, most, jitter):
    with pytest.raises(ValueError):
        Backoff(first, most, jitter=jitter)
