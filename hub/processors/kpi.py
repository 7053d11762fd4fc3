"""The KPI processor: feed.dossier.v1 -> per-dossier state -> feed.kpi.commune.v1 (Decision 766).

Per batch (one Kafka transaction) each dossier record is folded into its dossier's state
(``dossiers`` store, key ``<commune>|<dossier code>``, see :mod:`hub.analytics.dossier`), and the
commune gets a mark in the ``pending`` store: the earliest instant from which its rows may have
changed (:func:`hub.analytics.recompute.changed_since`) — one number per commune, however many periods
a long-open dossier spans. A timer (``HUB_ANALYTICS_TIMER_S``) recomputes, for each marked commune,
every day, month and quarter from its mark to now in one pass over its dossiers
(:func:`hub.analytics.kpi.compute_many`) and writes the rows whose values changed (``emitted``
store: a digest of the last row written per key) to the compacted KPI feed, keyed by period.
While the processor is catching up a backlog (its batches come full), it recomputes at most every
``HUB_KPI_REFRESH_S``: marks accumulate, and one recomputation serves many batches.
Every ``HUB_KPI_REFRESH_S`` the current day, month and quarter of every commune are recomputed
anyway — "in progress in time" turns into "overdue" when a due date passes without any event —
and every period that ended since the last refresh once more, final.

State, marks, digests, KPI rows and consumed offsets commit together, so a worker killed at any
point resumes with the same numbers an uninterrupted run would have produced.
"""

from __future__ import annotations

import hashlib
import time

import orjson

from hub import clock, log
from hub.analytics import dossier, kpi, recompute
from hub.analytics import periods as pr
from hub.contract import codec, topics
from hub.contract import headers as h
from hub.engine.processor import TP, BaseProcessor, Batch, StoreSpec
from hub.settings import Settings

logger = log.get("hub.kpi")
_LAST_REFRESH = b"\x00last_refresh"  # in the pending store: when current periods were last recomputed
_NOT_IN_DIGEST = ("computed_at", "evaluated_at", "revision", "revised_at")


class KpiProcessor(BaseProcessor):
    name = "kpi"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.schemas = codec.load(settings.schemas_dir)
        self.now = clock.from_setting(settings.clock)
        self.writer = self.schemas.latest(topics.FEED_KPI + "-value")
        self.inputs = (settings.topic(topics.FEED_DOSSIER),)
        self.output = settings.topic(topics.FEED_KPI)
        self.stores = tuple(StoreSpec.of(st) for st in topics.stores_of(settings, self.name))
        self.punctuate_every_s = float(settings.analytics_timer_s)
        self.refresh_s = float(settings.kpi_refresh_s)
        self.batch_max = settings.worker_batch_max
        self._communes: dict[TP, set[str]] = {}  # cache of the communes each partition's store holds
        self._backlog = False
        self._last_refresh: float | None = None
        self._refresh_work: dict[TP, dict[str, set[str]]] = {}  # current periods to recompute, per commune
        # A timer run must end well inside the transaction timeout (the broker fences a longer one).
        self.budget_s = min(2.0, settings.worker_transaction_timeout_ms / 1000 / 4)
        self.rows_written = 0

    # -- records ---------------------------------------------------------------------------------
    def process(self, batch: Batch) -> None:
        marks: dict[TP, dict[str, int]] = {}
        for m in batch.messages:
            tp = (m.topic(), m.partition())
            rec = codec.decode_plain(self.schemas, m.value())
            store = batch.store("dossiers", tp)
            key = dossier.key(rec).encode()
            raw = store.get(key)
            old = orjson.loads(raw) if raw is not None else None
            new = dossier.merge(old, rec)
            if new == old:
                continue  # the same change published twice
            store.put(key, orjson.dumps(new))
            since = recompute.changed_since(old, new)
            if since is not None:
                commune = rec["commune_code"]
                tp_marks = marks.setdefault(tp, {})
                tp_marks[commune] = min(since, tp_marks.get(commune, since))
        for tp, tp_marks in marks.items():
            pending = batch.store("pending", tp)
            for commune, since in tp_marks.items():
                cur = pending.get(commune.encode())
                if cur is None or int(cur) > since:
                    pending.put(commune.encode(), b"%d" % since)
            self._communes.setdefault(tp, set()).update(tp_marks)
        self._backlog = len(batch.messages) >= self.batch_max

    # -- timer ------------------------------------------------------------------------------------
    def punctuate(self, batch: Batch, _engine_now_ms: int) -> None:
        """Recompute marked communes, oldest mark first, within a time budget: a transaction must end
        well inside HUB_WORKER_TRANSACTION_TIMEOUT_MS, so a large province is worked off over several
        timer runs. A mark is deleted in the transaction that writes its commune's rows; one not
        reached stays for the next run (after a crash too)."""
        now_ms = self.now()
        deadline = time.monotonic() + self.budget_s
        refresh = self._last_refresh is None or time.monotonic() - self._last_refresh >= self.refresh_s
        if refresh:
            self._last_refresh = time.monotonic()
            for tp, pending in batch.stores("pending").items():
                for commune, keys in self._refresh_keys(tp, pending, now_ms).items():
                    self._refresh_work.setdefault(tp, {}).setdefault(commune, set()).update(keys)
        elif self._backlog:
            return  # catching up: let the marks of many batches share one recomputation
        for tp, pending in batch.stores("pending").items():
            marks = sorted((int(raw), key.decode()) for key, raw in pending.items() if key != _LAST_REFRESH)
            refresh_work = self._refresh_work.get(tp, {})
            for since, commune in marks:
                if time.monotonic() > deadline:
                    return
                keys = _keys_since(commune, since, now_ms) | refresh_work.pop(commune, set())
                self._flush(batch, tp, commune, sorted(keys), now_ms)
                pending.delete(commune.encode())
            for commune in sorted(refresh_work):
                if time.monotonic() > deadline:
                    return
                self._flush(batch, tp, commune, sorted(refresh_work.pop(commune)), now_ms)

    def _refresh_keys(self, tp: TP, pending, now_ms: int) -> dict[str, set[str]]:
        """Current periods of every commune, plus the periods that ended since the last refresh."""
        raw = pending.get(_LAST_REFRESH)
        last = int(raw) if raw else None
        pending.put(_LAST_REFRESH, b"%d" % now_ms)
        periods = set(pr.touching(now_ms))
        if last is not None:  # finalize what ended meanwhile (a worker down for days included)
            for kind in pr.KINDS:
                periods.update(p for p in pr.spanning(kind, last, now_ms) if p.end <= now_ms)
        return {c: {p.key(c) for p in periods} for c in self._communes.get(tp, ())}

    def _flush(self, batch: Batch, tp: TP, commune: str, keys: list[str], now_ms: int) -> None:
        dossiers = batch.store("dossiers", tp)
        emitted = batch.store("emitted", tp)
        # a generator: compute_many passes over the dossiers once, and a commune's history never sits in memory
        states = (orjson.loads(v) for _k, v in dossiers.items(f"{commune}|".encode()))
        for key, row in kpi.compute_many(states, keys, now_ms).items():
            kb = key.encode()
            digest = _digest(row, self.refresh_s)
            before = _Emitted.parse(emitted.get(kb))
            if before.digest == digest:
                continue
            # A closed row written again differs from the one the province already read: say so.
            revision = before.revision + 1 if row["final"] and before.final else 0
            row["revision"], row["revised_at"] = revision, (now_ms if revision else None)
            emitted.put(kb, _Emitted(digest, row["final"], revision).encode())
            record = kpi.to_avro(row, self.settings.province)
            traces = record.get("trace_ids") or []
            headers = [(h.TRACE_ID, traces[0].encode())] if traces else None
            batch.send(self.output, kb, codec.encode(self.writer, record), headers)
            self.rows_written += 1
            if revision:
                logger.info("kpi_row_revised", period_key=key, revision=revision, commune_code=commune)

    # -- rebalancing ------------------------------------------------------------------------------
    def assigned(self, tps: list[TP], batch: Batch) -> None:
        for tp in tps:
            self._communes[tp] = {k.split(b"|", 1)[0].decode() for k, _v in batch.store("dossiers", tp).items()}

    def revoked(self, tps: list[TP]) -> None:
        for tp in tps:
            self._communes.pop(tp, None)
            self._refresh_work.pop(tp, None)

    def aborted(self) -> None:
        # Work popped in the aborted transaction is gone from memory: refresh everything again.
        self._last_refresh = None


def _keys_since(commune: str, since: int, now_ms: int) -> set[str]:
    """Keys of every day, month and quarter of ``commune`` overlapping [since, now]."""
    return {p.key(commune) for kind in pr.KINDS for p in pr.spanning(kind, since, now_ms)}


def _digest(row: dict, refresh_s: float) -> bytes:
    """What a row says, for "did it change?". A current row also says which refresh window judged it:
    it is written again each HUB_KPI_REFRESH_S, so its evaluated_at is never older than that."""
    said = {k: v for k, v in row.items() if k not in _NOT_IN_DIGEST}
    if not row["final"]:
        said["window"] = row["evaluated_at"] // max(1000, int(refresh_s * 1000))
    return hashlib.blake2b(orjson.dumps(said, option=orjson.OPT_SORT_KEYS), digest_size=12).digest()


class _Emitted:
    """The ``emitted`` store's value for a period key: the digest of the row last written, whether it was
    final, and its revision (a value of a release before revisions is the 12-byte digest alone)."""

    __slots__ = ("digest", "final", "revision")

    def __init__(self, digest: bytes | None, final: bool, revision: int) -> None:
        self.digest, self.final, self.revision = digest, final, revision

    @classmethod
    def parse(cls, raw: bytes | None) -> _Emitted:
        if raw is None:
            return cls(None, False, 0)
        meta = orjson.loads(raw[12:]) if len(raw) > 12 else {}
        return cls(raw[:12], bool(meta.get("f")), int(meta.get("r", 0)))

    def encode(self) -> bytes:
        return (self.digest or b"") + orjson.dumps({"f": self.final, "r": self.revision})
