"""Stall detection: an engine that stays inside one step of its loop for too long stops the worker.

Every Kafka call of the engine has a timeout, yet a client library can still block past it (a
transactional producer's state machine after a broker restart is the known case), and a thread that
never returns keeps its partitions, commits nothing and fails nothing: the worker looks alive while
its lag grows. An engine records a heartbeat at each point of its loop (a consume, each transaction,
each producer renewal, each restore read); the worker's watcher compares it with the engine's bound
(``HUB_WORKER_STALL_S``) and, past it, logs ``worker_stalled`` with where the thread is and exits
non-zero so that its supervisor restarts it: the successor fences the stuck producer and resumes
from the last commit.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# One step may legitimately block in: init_transactions (60 s), send_offsets + up to three commits +
# an abort (each up to the commit timeout), besides the processing of one chunk.
_INIT_TRANSACTIONS_S = 60.0
_COMMIT_CALLS = 6


def bound_s(configured_s: float, commit_timeout_s: float) -> float:
    """The stall bound: the configured one, or (0) one that no healthy step reaches."""
    if configured_s > 0:
        return float(configured_s)
    return max(120.0, _INIT_TRANSACTIONS_S + _COMMIT_CALLS * commit_timeout_s)


class Beating(Protocol):
    name: str
    heartbeat: float
    stall_s: float


@dataclass(frozen=True, slots=True)
class Stall:
    name: str
    seconds: float
    where: list[str]  # innermost last: "hub/engine/engine.py:225 _commit: producer.commit_transaction(...)"


def stalls(watched: Iterable[tuple[Beating, threading.Thread]], now: float | None = None) -> list[Stall]:
    """The live threads whose heartbeat is older than their bound, with the code they are in."""
    now = time.monotonic() if now is None else now
    return [Stall(b.name, round(now - b.heartbeat, 1), where(t))
            for b, t in watched if t.is_alive() and now - b.heartbeat > b.stall_s]


def where(thread: threading.Thread, depth: int = 6) -> list[str]:
    """The innermost ``depth`` frames of a running thread: file, line, function and source line (code
    only, never the values of variables, so the log line carries no event data)."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return []
    return [f"{_short(f.filename)}:{f.lineno} {f.name}: {(f.line or '').strip()[:120]}"
            for f in traceback.extract_stack(frame)[-depth:]]


def _short(filename: str) -> str:
    parts = Path(filename).parts
    for anchor in ("hub", "site-packages"):
        if anchor in parts:
            i = len(parts) - 1 - parts[::-1].index(anchor)
            return "/".join(parts[i if anchor == "hub" else i + 1:])
    return Path(filename).name
