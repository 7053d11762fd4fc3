"""The gateway's read model: the latest KPI, directive-reach, freshness and target-progress rows, in memory.

The read API, the dashboard and ``hub status`` answer from the rows the worker wrote to
``feed.kpi.commune.v1``, ``feed.directive.v1``, ``feed.freshness.v1`` and ``feed.target.progress.v1``
— never from a second computation. The feeds are compacted and keyed by what a row is about
(``23734|month|2025-11``, ``<document id>|<commune>``, ``<commune>``,
``<commune>|<year>|<program>|<indicator>``), so "the latest value per key" is the whole state.

Three parts, one job each:

* :class:`FeedSnapshot` — an immutable view: rows indexed by period, by directive, by commune
  (freshness) and by commune then target key (targets).
  Readers take ``model.snapshot`` and never wait: no lock, no I/O. Rows are kept as their Avro
  bytes (about 200 bytes a row, against ~1.7 KB as a decoded dict) and decoded on lookup
  (:func:`hub.contract.codec.decode_plain`, tens of microseconds a row).
* :func:`read_round` / :func:`load` — one bounded read of the four feeds up to their end offsets
  (:mod:`hub.read.feed_cursor`, ``read_committed``: the worker writes them in transactions; a row
  written while a round reads is left to the next round, never skipped), folded into a
  new snapshot. ``hub status`` calls :func:`load` with a key filter; the follower calls
  :func:`read_round` again and again.
* :class:`ReadModel` — the follower: a daemon thread that reads from the beginning once, then
  what was added every ``HUB_READ_MODEL_INTERVAL_MS``, and swaps in a new snapshot after each
  round that changed something.

The questions asked of a snapshot (rankings, overdue directives, silent systems, today's targets)
are in :mod:`hub.read.queries`.

A new snapshot shares everything a round did not touch with the previous one: the period index
is two levels (``(kind, at)`` -> commune -> row), and only the touched inner maps are copied, so a
round costs in proportion to what changed, not to the state's size.

Scale: a province of 135 communes keeps ~381 KPI keys per commune and year (365 days, 12 months,
4 quarters): ~51,000 rows, ~16 MB; directive reach adds one row per directive and recipient; targets
one row per commune, plan year, program and indicator (~135 x a dozen: ~1,600 a year, decoded per
request for the year asked — the province roll-up and the dashboard section).
Catching up decodes every row once (a year of a province: seconds of CPU; README "Reading the
province's answers" has the measurement).
National scale is one deployment (and one read model) per province: 3,321 communes in 34 provinces.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hub import log
from hub.analytics import periods as pr
from hub.analytics import targets as tg
from hub.contract import codec, topics
from hub.errors import HubError, SchemaError
from hub.read.feed_cursor import EndsHook, FeedCursor
from hub.settings import Settings

FEEDS = topics.READ_MODEL_FEEDS  # declared there: the gateway's ACL plan (hub.admin.security) is derived from it
KeyFilter = Callable[[str, str], bool]  # (feed name, record key) -> keep it
Changes = dict[str, dict[str, bytes | None]]  # feed name -> record key -> latest value (None: tombstone)
_EMPTY: Mapping = {}


@dataclass(frozen=True, slots=True)
class Reach:
    """One directive at one commune, with what the indexes need (the rest stays in ``value``)."""

    value: bytes
    overdue: bool
    sent_at: int | None


@dataclass(frozen=True)
class FeedSnapshot:
    """The four feeds at one point of reading. Immutable: its maps are never changed once built."""

    schemas: codec.Schemas
    kpi: Mapping[tuple[str, str], Mapping[str, bytes]] = field(default_factory=dict)  # (kind, at) -> commune
    directives: Mapping[str, Mapping[str, Reach]] = field(default_factory=dict)  # document id -> commune
    overdue: frozenset[str] = frozenset()  # documents with an overdue recipient
    freshness: Mapping[str, bytes] = field(default_factory=dict)  # commune -> row
    targets: Mapping[str, Mapping[str, bytes]] = field(default_factory=dict)  # commune -> progress key -> row
    rows: int = 0
    caught_up: bool = False  # a round reached the end offsets of every feed
    built_ms: int = 0

    def _decode(self, value: bytes) -> dict[str, Any]:
        return codec.decode_plain(self.schemas, value)

    # -- KPI rows ---------------------------------------------------------------------------------
    def kpi_row(self, kind: str, at: str, commune: str) -> dict[str, Any] | None:
        value = self.kpi.get((kind, at), _EMPTY).get(commune)
        return None if value is None else self._decode(value)

    def kpi_period(self, kind: str, at: str) -> dict[str, dict[str, Any]]:
        """{commune: row} of every commune that has a row for the period."""
        return {c: self._decode(v) for c, v in self.kpi.get((kind, at), _EMPTY).items()}

    # -- directive reach --------------------------------------------------------------------------
    def directive(self, document_id: str) -> dict[str, dict[str, Any]]:
        """{commune: row} of one directive; empty when the hub has no row for it."""
        return {c: self._decode(r.value) for c, r in sorted(self.directives.get(document_id, _EMPTY).items())}

    def directive_ids(self, *, overdue_only: bool = False) -> list[str]:
        """Document ids, the latest sent first (then by id)."""
        ids = self.overdue if overdue_only else self.directives.keys()

        def latest(doc: str) -> int:
            return max((r.sent_at or 0 for r in self.directives[doc].values()), default=0)

        return sorted(ids, key=lambda d: (-latest(d), d))

    # -- freshness --------------------------------------------------------------------------------
    def freshness_row(self, commune: str) -> dict[str, Any] | None:
        value = self.freshness.get(commune)
        return None if value is None else self._decode(value)

    def freshness_rows(self) -> list[dict[str, Any]]:
        return [self._decode(v) for _c, v in sorted(self.freshness.items())]

    # -- target progress --------------------------------------------------------------------------
    def target_rows(self, year: int, commune: str | None = None) -> list[dict[str, Any]]:
        """Progress rows of a plan year (one commune's, or every commune's), as the pure functions of
        :mod:`hub.analytics.targets` take them (status in lower case); by commune and key."""
        communes = [commune] if commune is not None else sorted(self.targets)
        prefix_year = f"|{year}|"
        out = []
        for c in communes:
            for key, value in sorted(self.targets.get(c, _EMPTY).items()):
                if key[len(c):].startswith(prefix_year):  # the year is in the key: decode only that year's rows
                    out.append(tg.from_avro(self._decode(value)))
        return out

    def target_years(self) -> list[int]:
        """Plan years with at least one progress row, latest first."""
        years = {int(key.split("|")[1]) for inner in self.targets.values() for key in inner}
        return sorted(years, reverse=True)


# --- folding records into a snapshot (pure) -----------------------------------------------------
def _kpi_index(key: str) -> tuple[tuple[str, str], str] | None:
    """((kind, at), commune) of a KPI key; None for keys of another shape (v1 rows were keyed by commune)."""
    parts = key.split("|")
    if len(parts) != 3 or parts[1] not in pr.KINDS:
        return None
    return (parts[1], parts[2]), parts[0]


def _target_index(key: str) -> str | None:
    """The commune of a progress key ``<commune>|<year>|<program>|<indicator>``; None for another shape."""
    parts = key.split("|")
    if len(parts) != 4 or not parts[0] or not parts[1].isdigit():
        return None
    return parts[0]


def apply(snap: FeedSnapshot, changes: Changes, *, caught_up: bool = True) -> FeedSnapshot:
    """A new snapshot with ``changes`` folded in; what they do not touch is shared with ``snap``.

    ``changes`` hold decodable values only (:func:`FeedReaders.read_round` leaves the others out);
    keys of another shape (KPI v1 rows were keyed by commune alone) are skipped.
    """
    kpi, directives, freshness, progress = snap.kpi, snap.directives, snap.freshness, snap.targets
    overdue = snap.overdue
    rows = snap.rows
    if changes.get("kpi"):
        kpi, _touched, delta = _fold(kpi, ((*index, value) for key, value in changes["kpi"].items()
                                           if (index := _kpi_index(key)) is not None))
        rows += delta
    if changes.get("directive"):
        split = ((key.rpartition("|"), value) for key, value in changes["directive"].items())
        directives, docs, delta = _fold(directives, (
            (doc, commune, None if value is None else _reach(snap.schemas, value))
            for (doc, sep, commune), value in split if sep and doc))
        rows += delta
        now_overdue = {d for d in docs if any(r.overdue for r in docs[d].values())}
        overdue = frozenset((overdue - docs.keys()) | now_overdue)
    if changes.get("freshness"):
        freshness = dict(freshness)
        for key, value in changes["freshness"].items():
            rows += _set(freshness, key, value)
    if changes.get("target"):
        progress, _touched, delta = _fold(progress, ((commune, key, value) for key, value in changes["target"].items()
                                                     if (commune := _target_index(key)) is not None))
        rows += delta
    return replace(snap, kpi=kpi, directives=directives, overdue=overdue, freshness=freshness, targets=progress,
                   rows=rows, caught_up=caught_up or snap.caught_up, built_ms=int(time.time() * 1000))


def _fold(outer: Mapping, items: Iterable[tuple[Any, str, Any]]) -> tuple[dict, dict[Any, dict], int]:
    """A two-level index with ``(outer key, inner key, value or None)`` set or deleted: a new outer map in
    which only the touched inner maps are copies (the others are shared), the touched inner maps, and the
    change in the number of rows."""
    new = dict(outer)
    touched: dict[Any, dict] = {}
    delta = 0
    for key, inner_key, value in items:
        inner = touched.get(key)
        if inner is None:
            inner = touched[key] = dict(outer.get(key, _EMPTY))
        delta += _set(inner, inner_key, value)
    for key, inner in touched.items():
        if inner:
            new[key] = inner
        else:
            new.pop(key, None)
    return new, touched, delta


def _set(target: dict, key: str, value: Any) -> int:
    """Set or (value None) delete; the change in the number of rows."""
    if value is None:
        return -1 if target.pop(key, None) is not None else 0
    before = len(target)
    target[key] = value
    return len(target) - before


def _reach(schemas: codec.Schemas, value: bytes) -> Reach:
    rec = codec.decode_plain(schemas, value)
    # v1 rows have no `overdue`: any of their two flags is the same thing
    overdue = rec.get("overdue", rec.get("acceptance_overdue") or rec.get("completion_overdue"))
    return Reach(value, bool(overdue), rec.get("sent_at"))


def decodable(schemas: codec.Schemas, value: bytes | None) -> bool:
    """Whether a record value is a tombstone or decodes with a schema of the lock."""
    if value is None:
        return True
    try:
        codec.decode_plain(schemas, value)
    except SchemaError:
        return False
    return True


# --- reading the feeds (bounded) ----------------------------------------------------------------
class FeedReaders:
    """One consumer per feed, kept between rounds (each round reads what was added since the last).

    ``on_ends`` is a test seam: called with (topic, {partition: end offset}) right after a round took a
    feed's end offsets and before it reads them — where a write lands "during a read".
    """

    def __init__(self, settings: Settings, *, client: str = "read-model", timeout_s: float = 10.0,
                 on_ends: EndsHook | None = None) -> None:
        self.settings = settings
        self.client = client
        self.timeout_s = timeout_s
        self.on_ends = on_ends
        self._readers: dict[str, FeedCursor] = {}

    def read_round(self, *, keep: KeyFilter | None = None, stop: threading.Event | None = None
                   ) -> tuple[Changes, int]:
        """The latest value per key of what each feed holds beyond the last round, up to its end offsets
        now; and how many values were left out because they do not decode. Raises HubError (a feed
        missing, the broker not answering within ``timeout_s``). A round left early (``stop``) does not
        move the starts of the feed it was reading."""
        schemas = codec.load(self.settings.schemas_dir)
        changes: Changes = {}
        unreadable = 0
        for name, topic in FEEDS.items():
            reader = self._readers.get(name)
            if reader is None:
                reader = self._readers[name] = FeedCursor(self.settings, self.settings.topic(topic),
                                                          client=self.client, timeout_s=self.timeout_s)
            latest = changes.setdefault(name, {})
            for m in reader.read(self.timeout_s, self.on_ends):
                if stop is not None and stop.is_set():
                    return changes, unreadable
                if m.key is None:
                    continue
                key = m.key.decode("utf-8", "replace")
                if keep is not None and not keep(name, key):
                    continue
                if decodable(schemas, m.value):
                    latest[key] = m.value
                else:
                    unreadable += 1
        return changes, unreadable

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()


def load(settings: Settings, *, keep: KeyFilter | None = None, timeout_s: float = 10.0,
         client: str = "read-model-once") -> FeedSnapshot:
    """The four feeds read once to their end offsets (``hub status``); ``keep`` filters record keys."""
    readers = FeedReaders(settings, client=client, timeout_s=timeout_s)
    try:
        changes, _unreadable = readers.read_round(keep=keep)
    finally:
        readers.close()
    return apply(FeedSnapshot(codec.load(settings.schemas_dir)), changes)


class ReadModel:
    """Follows the four feeds in a daemon thread; ``snapshot`` is always ready to use.

    Before the first complete round ``snapshot.caught_up`` is False (``/readyz`` says so and the
    read API answers 503 rather than zeros). A failed round keeps the last snapshot, logs
    ``read_model_failed`` once per outage and retries at the next interval.
    """

    def __init__(self, settings: Settings, *, interval_s: float | None = None,
                 on_ends: EndsHook | None = None) -> None:
        self.settings = settings
        self.interval_s = interval_s if interval_s is not None else settings.read_model_interval_ms / 1000
        self._on_ends = on_ends  # test seam, see FeedReaders
        self._snapshot = FeedSnapshot(codec.load(settings.schemas_dir))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_ok_ms: int | None = None
        self.last_error: str | None = None
        self.rounds = 0

    @property
    def snapshot(self) -> FeedSnapshot:
        return self._snapshot  # one attribute read: atomic, never blocks

    def status(self) -> dict[str, Any]:
        snap = self._snapshot
        return {"caught_up": snap.caught_up, "rows": snap.rows, "last_read_ms": self.last_ok_ms,
                "error": self.last_error}

    def start(self) -> ReadModel:
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="read-model", daemon=True)
        self._thread.start()
        return self

    def _follow(self) -> None:
        readers = FeedReaders(self.settings, timeout_s=max(5.0, 5 * self.interval_s), on_ends=self._on_ends)
        failing = False
        started = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    changes, unreadable = readers.read_round(stop=self._stop)
                except Exception as exc:  # noqa: BLE001 - a feed missing, the broker away, a client bug:
                    # report and retry; a follower thread that died would leave a stale snapshot silently
                    readers.close()
                    self.last_error = str(exc)[:300] if isinstance(exc, HubError) else \
                        f"{type(exc).__name__}: {str(exc)[:250]}"
                    if not failing:
                        log.get().warning("read_model_failed", error=self.last_error)
                    failing = True
                else:
                    if self._stop.is_set():
                        break
                    self._publish(changes, unreadable, started)
                    if failing:
                        log.get().info("read_model_recovered")
                    failing = False
                self._stop.wait(self.interval_s)
        finally:
            readers.close()

    def _publish(self, changes: Changes, unreadable: int, started: float) -> None:
        first = not self._snapshot.caught_up
        if first or any(changes.values()):
            self._snapshot = apply(self._snapshot, changes)
        self.rounds += 1
        self.last_ok_ms, self.last_error = int(time.time() * 1000), None
        if unreadable:
            log.get().warning("read_model_record_unreadable", records=unreadable)
        if first:
            log.get().info("read_model_caught_up", rows=self._snapshot.rows,
                           seconds=round(time.monotonic() - started, 3))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
