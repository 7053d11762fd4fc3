"""Waiting between attempts: exponential backoff with jitter, one implementation for every retry loop.

Used by the stream engine (a transaction that failed for a transient reason), the publisher SDK's outbox
(a send that failed) and the gateway's Kafka connection. Without jitter, every client that lost the same
broker at the same moment retries at the same moments too, and the broker sees the herd at each step;
with it the retries spread over the second half of each interval.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays that double from ``first_s`` up to ``max_s``, each drawn from [(1 - jitter) × d, d].

    :meth:`next` gives the delay to wait now and moves on; :meth:`reset` after a success starts over.
    :attr:`nominal` is the bound the next delay is drawn under (what a log line can promise).
    """

    __slots__ = ("first_s", "max_s", "jitter", "_random", "_nominal")

    def __init__(self, first_s: float, max_s: float, *, jitter: float = 0.5,
                 rand: Callable[[], float] = random.random) -> None:
        if not (0 < first_s <= max_s):
            raise ValueError(f"backoff needs 0 < first_s <= max_s, got {first_s} and {max_s}")
        if not 0 <= jitter <= 1:
            raise ValueError(f"backoff jitter is a fraction in [0, 1], got {jitter}")
        self.first_s, self.max_s, self.jitter, self._random = first_s, max_s, jitter, rand
        self._nominal = first_s

    @property
    def nominal(self) -> float:
        return self._nominal

    def next(self) -> float:
        delay = self._nominal * (1.0 - self.jitter * self._random())
        self._nominal = min(self.max_s, self._nominal * 2)
        return delay

    def reset(self) -> None:
        self._nominal = self.first_s
