"""The targets processor: feed.target.v1 -> state per target -> feed.target.progress.v1.

Each TargetEvent is folded into its target's state (``progress`` store, key
``<commune>|<year>|<program>|<indicator>``, :func:`hub.analytics.targets.merge`); every state that
changed gets its progress row evaluated on today's Vietnam date and written — in the same
transaction as the state and the consumed offsets — unless it equals the row last written for that
key (``emitted`` store: a digest and the status of the last row).

Everything in a row depends on the state and the Vietnam calendar day only (expected shares move by
day, ``no_report`` counts days), so the timer (``HUB_ANALYTICS_TIMER_S``) re-evaluates a
partition's targets once per new day of ``now`` (``HUB_CLOCK`` honoured): ``behind`` and
``no_report`` appear without any new event, and a day with nothing new writes nothing.

Decisions logged once committed: ``target_report_flagged`` (a report for an indicator the province
has not assigned, or in another unit than the assignment: kept on the feed, not counted) and
``target_status_changed`` (a row's status moved, e.g. to ``behind`` or ``no_report``).
"""

from __future__ import annotations

import hashlib

import orjson

from hub import clock, log
from hub.analytics import targets
from hub.analytics.periods import vn_day
from hub.contract import codec, topics
from hub.contract import headers as h
from hub.engine.processor import TP, BaseProcessor, Batch, StoreSpec
from hub.settings import Settings

logger = log.get("hub.targets")
_DIGEST = 12


class TargetsProcessor(BaseProcessor):
    name = "targets"

    def __init__(self, settings: Settings) -> None:
        self.cfg = targets.TargetConfig.from_settings(settings)
        self.schemas = codec.load(settings.schemas_dir)
        self.now = clock.from_setting(settings.clock)
        self.writer = self.schemas.latest(topics.FEED_TARGET_PROGRESS + "-value")
        self.inputs = (settings.topic(topics.FEED_TARGET),)
        self.output = settings.topic(topics.FEED_TARGET_PROGRESS)
        self.stores = tuple(StoreSpec.of(st) for st in topics.stores_of(settings, self.name))
        self.punctuate_every_s = float(settings.analytics_timer_s)
        self._day: dict[TP, int] = {}  # the day each partition's rows were last all evaluated (a cache)
        self.rows_written = 0

    # -- records ---------------------------------------------------------------------------------
    def process(self, batch: Batch) -> None:
        now = self.now()
        changed: dict[tuple[TP, bytes], dict] = {}
        flagged: list[dict] = []
        for m in batch.messages:
            rec = codec.decode_plain(self.schemas, m.value())
            tp = (m.topic(), m.partition())
            store = batch.store("progress", tp)
            key = targets.key(rec).encode()
            raw = store.get(key)  # this batch's own writes included
            old = orjson.loads(raw) if raw is not None else None
            new = targets.merge(old, rec)
            if new == old:
                continue  # a duplicate, or a report older than the one already counted
            store.put(key, orjson.dumps(new))
            changed[(tp, key)] = new
            reason = targets.report_flag(new, rec)
            if reason is not None:
                flagged.append({"reason": reason, "progress_key": key.decode(), "commune_code": rec["commune_code"],
                                "event_id": rec["event_id"], "trace_id": rec["trace_id"],
                                "source_system": rec["source_system"], "unit": rec.get("unit")})
        transitions: list[dict] = []
        for (tp, key), state in changed.items():
            self._emit(batch, tp, key, state, now, transitions)
        if flagged:
            batch.after_commit(lambda: _log_flags(flagged))
        if transitions:
            batch.after_commit(lambda: _log_transitions(transitions))

    def _emit(self, batch: Batch, tp: TP, key: bytes, state: dict, now: int, transitions: list[dict]) -> None:
        """Write the key's row unless it equals the last one written; note a status change."""
        row = targets.row(state, now, self.cfg)
        record = targets.to_avro(row)
        digest = hashlib.blake2b(orjson.dumps({k: v for k, v in record.items() if k != "computed_at"},
                                              option=orjson.OPT_SORT_KEYS), digest_size=_DIGEST).digest()
        emitted = batch.store("emitted", tp)
        last = emitted.get(key)
        if last is not None and last[:_DIGEST] == digest:
            return
        emitted.put(key, digest + row["status"].encode())
        headers = [(h.TRACE_ID, row["trace_ids"][-1].encode())] if row["trace_ids"] else None
        batch.send(self.output, key, codec.encode(self.writer, record), headers)
        self.rows_written += 1
        previous = last[_DIGEST:].decode() if last is not None else None
        if previous != row["status"]:
            transitions.append({**{k: row[k] for k in ("progress_key", "commune_code", "status", "gap",
                                                        "days_since_report", "evaluated_for")},
                                "previous": previous, "trace_id": row["trace_ids"][-1] if row["trace_ids"] else None})

    # -- timer: a new day moves expected shares and report ages -----------------------------------
    def punctuate(self, batch: Batch, _engine_now_ms: int) -> None:
        now = self.now()
        today = vn_day(now)
        transitions: list[dict] = []
        for tp, store in batch.stores("progress").items():
            if self._day.get(tp) == today:
                continue
            for key, raw in store.items():
                self._emit(batch, tp, key, orjson.loads(raw), now, transitions)
            self._day[tp] = today
        if transitions:
            batch.after_commit(lambda: _log_transitions(transitions))

    # -- the day cache follows the partitions; an aborted timer run is redone ----------------------
    def assigned(self, tps: list[TP], batch: Batch) -> None:
        for tp in tps:
            self._day.pop(tp, None)

    def revoked(self, tps: list[TP]) -> None:
        for tp in tps:
            self._day.pop(tp, None)

    def aborted(self) -> None:
        self._day.clear()


def _log_flags(flagged: list[dict]) -> None:
    for f in flagged:
        logger.warning("target_report_flagged", kind="target", **f)


def _log_transitions(transitions: list[dict]) -> None:
    for t in transitions:
        logger.info("target_status_changed", kind="target", **t)
