"""The per-record time budget: a cooperative deadline that loops over elements, rows and recipients check.

A payload that is within the byte limit can still be expensive to map (a million XML
elements, an array of tens of thousands of events). The worker normalizes on its event loop, so
one such record would stall heartbeats, cost the worker its group membership, and then stall the
next worker the same way (a poison pill). :func:`limit` sets a deadline for the record being
normalized; :func:`check` (or :func:`each` around a loop) raises ``Rejected("too_expensive")``
once it has passed, so the record is dead-lettered with its bytes instead of retried forever.

The deadline lives in a :class:`contextvars.ContextVar`, so the dialect contract
(``parse(raw, env, ctx)``) does not change and concurrent normalizations (threads, tasks) each
have their own. Outside :func:`limit` there is no deadline. ``clock`` is module state so a
test can drive time without sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import TypeVar

from hub.errors import Rejected

T = TypeVar("T")
R = TypeVar("R")
clock = time.monotonic
# (deadline on ``clock``, budget in ms for messages)
_limit: ContextVar[tuple[float, float]] = ContextVar("hub_normalize_limit", default=(math.inf, math.inf))


class limit:  # noqa: N801 - used as ``with budget.limit(seconds):``, like a function
    """Run the body under a deadline ``seconds`` from now (None: no deadline).

    A class, not ``@contextmanager``: it wraps every event normalized, and a generator-based
    context manager costs several times more to enter and leave.
    """

    __slots__ = ("_seconds", "_token")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds

    def __enter__(self) -> None:
        if self._seconds is not None:
            self._token = _limit.set((clock() + self._seconds, self._seconds * 1000))

    def __exit__(self, *_exc: object) -> None:
        if self._seconds is not None:
            _limit.reset(self._token)


def check(what: str) -> None:
    """Raise ``too_expensive`` if the current record's deadline has passed; ``what`` names the loop."""
    deadline, budget_ms = _limit.get()
    if clock() > deadline:
        raise Rejected("too_expensive", f"normalizing took longer than the per-record budget of "
                       f"{budget_ms:.0f} ms (HUB_MAX_RECORD_MS), at {what}", stage="map")


def each(items: Iterable[T], what: str) -> Iterator[T]:
    """``items`` with a deadline check before each one."""
    deadline = _limit.get()[0]
    if deadline == math.inf:
        yield from items
        return
    for item in items:
        if clock() > deadline:
            check(what)
        yield item


def bound(count: int, limit_: int, what: str) -> None:
    """A structural bound: ``count`` items of ``what`` where at most ``limit_`` make sense."""
    if count > limit_:
        raise Rejected("too_expensive", f"{what} holds {count} items; the bound is {limit_}", stage="map")


def map_items(items: Sequence[T], fn: Callable[[T], R], label: str, *, first: int = 0,
              name_single: bool = False) -> list[R]:
    """``fn`` over ``items`` with a deadline check each; a rejection says which item (``row 3: ...``)."""
    out = []
    for n, item in enumerate(each(items, label + "s"), start=first):
        try:
            out.append(fn(item))
        except Rejected as exc:
            if len(items) == 1 and not name_single:
                raise
            raise Rejected(exc.reason, f"{label} {n}: {exc.message}", stage=exc.stage, field=exc.field) from None
    return out
