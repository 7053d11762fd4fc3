"""The KPI processor: feed.dossier.v1 -> per-dossier state -> feed.kpi.commune.v1 (Decision 766).

Per batch (one Kafka transaction) each dossier record is folded into its dossier's state
(``dossiers`` store, key ``<commune>|<dossier code>``, see :mod:`hub.analytics.dossier`) and the
period keys it may change (``23734|month|2025-11``) are noted in the ``pending`` store. A timer
(``HUB_ANALYTICS_TIMER_S``) recomputes the pending periods of each commune in one pass over its dossiers
(:func:`hub.analytics.kpi.compute_many`) and writes the rows whose values changed (``emitted``
store: a digest of the last row written per key) to the compacted KPI feed, keyed by period.
Every ``HUB_KPI_REFRESH_S`` the current day, month and quarter of every commune are recomputed
anyway — "in progress in time" turns into "overdue" when a due date passes without any event —
and every period that ended since the last refresh is recomputed once more, final.

State, pending keys, digests, KPI rows and consumed offsets commit together, so a worker killed at
any point resumes with the same numbers an uninterrupted run would have produced.
"""

from __future__ import annotations

import hashlib

import orjson

from hub import clock, codec, log, topics
from hub import headers as h
from hub.analytics import dossier, kpi
from hub.analytics import periods as pr
from hub.settings import Settings
from hub.stream.processor import TP, BaseProcessor, Batch, StoreSpec

logger = log.get("hub.kpi")
_LAST_REFRESH = b"\x00last_refresh"  # in the pending store: when current periods were last recomputed
_NOT_IN_DIGEST = ("computed_at", "evaluated_at")


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
        self.refresh_ms = settings.kpi_refresh_s * 1000
        self._communes: dict[TP, set[str]] = {}  # cache of the communes each partition's store holds
        self.rows_written = 0

    # -- records ---------------------------------------------------------------------------------
    def process(self, batch: Batch) -> None:
        now = self.now()
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
            pending = batch.store("pending", tp)
            for period_key in kpi.affected_periods(old, new, now):
                pending.put(period_key.encode(), b"")
            self._communes.setdefault(tp, set()).add(rec["commune_code"])

    # -- timer ------------------------------------------------------------------------------------
    def punctuate(self, batch: Batch, _engine_now_ms: int) -> None:
        now_ms = self.now()
        written = 0
        for tp, pending in batch.stores("pending").items():
            keys = {k.decode() for k, _ in pending.items() if k != _LAST_REFRESH}
            keys |= self._refresh_keys(tp, pending, now_ms)
            if keys:
                written += self._flush(batch, tp, sorted(keys), now_ms)
            for k in keys:
                pending.delete(k.encode())
        if written:
            self.rows_written += written

    def _refresh_keys(self, tp: TP, pending, now_ms: int) -> set[str]:
        """Current periods of every commune when a refresh is due, plus periods ended since the last one."""
        raw = pending.get(_LAST_REFRESH)
        last = int(raw) if raw else None
        if last is not None and now_ms - last < self.refresh_ms:
            return set()
        pending.put(_LAST_REFRESH, b"%d" % now_ms)
        periods = set(pr.touching(now_ms))
        if last is not None:  # finalize what ended meanwhile (a worker down for days included)
            for kind in pr.KINDS:
                periods.update(p for p in pr.spanning(kind, last, now_ms) if p.end <= now_ms)
        return {p.key(c) for c in self._communes.get(tp, ()) for p in periods}

    def _flush(self, batch: Batch, tp: TP, keys: list[str], now_ms: int) -> int:
        dossiers = batch.store("dossiers", tp)
        emitted = batch.store("emitted", tp)
        communes = {k.split("|", 1)[0] for k in keys}
        states = [orjson.loads(v) for c in sorted(communes) for _k, v in dossiers.items(f"{c}|".encode())]
        written = 0
        for key, row in kpi.compute_many(states, keys, now_ms).items():
            record = kpi.to_avro(row, self.settings.province)
            digest = hashlib.blake2b(orjson.dumps({k: v for k, v in record.items() if k not in _NOT_IN_DIGEST},
                                                  option=orjson.OPT_SORT_KEYS), digest_size=12).digest()
            kb = key.encode()
            if emitted.get(kb) == digest:
                continue
            emitted.put(kb, digest)
            traces = record.get("trace_ids") or []
            headers = [(h.TRACE_ID, traces[-1].encode())] if traces else None
            batch.send(self.output, kb, codec.encode(self.writer, record), headers)
            written += 1
        return written

    # -- rebalancing ------------------------------------------------------------------------------
    def assigned(self, tps: list[TP], batch: Batch) -> None:
        for tp in tps:
            self._communes[tp] = {k.split(b"|", 1)[0].decode() for k, _v in batch.store("dossiers", tp).items()}

    def revoked(self, tps: list[TP]) -> None:
        for tp in tps:
            self._communes.pop(tp, None)
