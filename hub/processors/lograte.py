"""Rate limit for per-record log lines whose volume a publisher controls (``event_rejected``).

One line per decision is the rule, but a publisher that sends 60,000 bad records would write 60,000
lines and drown every other decision in the log. So per key — (verified writer, reason): both come
from bounded sets, registered system ids or ``unverified`` and the reason codes — the first
``burst`` lines of each ``window_s`` window are written; further ones are only counted (a Prometheus
counter at once, and one ``<event>_suppressed`` line with the count when the key's window closes).
Keys are bounded by construction, so the limiter's memory is too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import Counter

Key = tuple[str, str]  # (writer, reason)


class LogLimiter:
    __slots__ = ("event", "burst", "window_s", "clock", "counter", "emit", "_windows")

    def __init__(self, event: str, *, burst: int, window_s: float, emit: Callable[..., None],
                 counter: Counter | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.event = event
        self.burst = burst
        self.window_s = window_s
        self.clock = clock
        self.counter = counter
        self.emit = emit  # called as emit(event_name, **fields) for the suppressed-count lines
        self._windows: dict[Key, list] = {}  # key -> [window start, lines written, lines suppressed]

    def allow(self, writer: str, reason: str) -> bool:
        """True when this line may be written; False counts it as suppressed."""
        now = self.clock()
        key = (writer, reason)
        w = self._windows.get(key)
        if w is not None and now - w[0] >= self.window_s:
            self._close(key, w)
            w = None
        if w is None:
            w = self._windows[key] = [now, 0, 0]
        if w[1] < self.burst:
            w[1] += 1
            return True
        w[2] += 1
        if self.counter is not None:
            self.counter.labels(self.event, writer, reason).inc()
        return False

    def flush(self, *, force: bool = False) -> None:
        """Close the windows that are over (all of them with ``force``): one suppressed line each."""
        now = self.clock()
        for key, w in list(self._windows.items()):
            if force or now - w[0] >= self.window_s:
                self._close(key, w)
                del self._windows[key]

    def _close(self, key: Key, w: list) -> None:
        if w[2]:
            self.emit(self.event + "_suppressed", writer=key[0], reason=key[1], suppressed=w[2], written=w[1],
                      window_s=self.window_s)
