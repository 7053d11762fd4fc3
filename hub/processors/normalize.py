"""The normalize processor: ingest.* -> canonical feed records | dead letters, deduplicated.

Runs in the stream engine (hub.engine), one batch per Kafka transaction: the feed and DLQ
records of a batch, the dedupe state changes and the consumed ingest offsets commit together.
So a worker's own crash or restart can neither lose nor repeat a feed record; what is left to
deduplicate is publishers sending the same source event twice (a retry, an outbox resend, a file
imported again, a replay). That is the ``dedupe`` store: hub event id -> first seen (ms), per
ingest partition, kept for ``HUB_DEDUPE_WINDOW_HOURS``, changelogged in the same transaction.
"""

from __future__ import annotations

import time

from hub import bounded, log
from hub.admin.dead_letters import ERR_WRITER
from hub.contract import codec, signatures, topics
from hub.contract import headers as h
from hub.engine.processor import BaseProcessor, Batch, StoreSpec
from hub.errors import TransientError
from hub.kafka import config as kafka_config
from hub.normalize import Context
from hub.processors.blame import cut, system_label, writer_of
from hub.processors.lograte import LogLimiter
from hub.processors.metrics import PipelineMetrics
from hub.processors.partitions import PartitionCounts
from hub.processors.process import Outcome, Source, admit, dlq_headers, envelope, process
from hub.settings import Settings

logger = log.get("hub.processors")
# Rejections that a registration made seconds ago may cure: look at the systems topic once more.
_SYSTEMS_REASONS = frozenset({"unknown_system", "commune_not_in_scope", "kind_not_allowed", "unknown_organ",
                              "organ_not_in_scope", "bad_signature"})
_REFRESH_EVERY_S = 1.0


class NormalizeProcessor(BaseProcessor):
    """Maps raw ingest records through the dialects; ``systems`` supplies scopes and the organ directory."""

    name = "normalize"
    punctuate_every_s = 60.0  # forget dedupe entries older than the window

    def __init__(self, settings: Settings, systems, *, metrics: PipelineMetrics | None = None) -> None:
        self.settings = settings
        self.systems = systems
        self.schemas = codec.load(settings.schemas_dir)
        self.window_ms = settings.dedupe_window_hours * 3600 * 1000
        self.stores = tuple(StoreSpec.of(st) for st in topics.stores_of(settings, self.name))
        self.kind_of = {settings.topic(t): kind for kind, t in topics.INGEST_BY_KIND.items()}
        self.inputs = tuple(self.kind_of)
        self.feed_of = {kind: settings.topic(topics.FEED_BY_KIND[kind]) for kind in topics.KINDS}
        self.dlq = settings.topic(topics.DLQ)
        snapshot = systems.snapshot
        self.ctx = Context.from_settings(settings, organs=snapshot.organs, scope_of=snapshot.scope)
        self._snapshot = snapshot
        # Secure mode: only records signed with their source system's key (hub.contract.signatures) get through.
        self.signed_only = kafka_config.secure(settings)
        self.metrics = metrics or PipelineMetrics()
        self._last_refresh = 0.0
        self._debug = settings.log_level.upper() == "DEBUG"
        self._partitions = PartitionCounts()  # armed by the first engine batch (hub.processors.partitions)
        # A flood of bad records must not flood the log: per (verified writer, reason), see hub.processors.lograte.
        self._rejected_log = LogLimiter("event_rejected", burst=settings.log_rejected_burst,
                                        window_s=settings.log_rejected_window_s,
                                        emit=lambda event, **kw: logger.warning(event, **kw),
                                        counter=self.metrics.log_suppressed)

    # -- one batch ------------------------------------------------------------------------------
    def process(self, batch: Batch) -> None:
        self._use(self.systems.snapshot)  # the follower publishes onboarding within a second or so
        if self._partitions.lookup is None and (count := getattr(batch, "partition_count", None)) is not None:
            self._partitions.lookup = count  # the engine consumer's metadata; no extra connection
        now_ms = int(time.time() * 1000)
        tally = self.metrics.tally()
        published: list[tuple] = []
        for m in batch.messages:
            self._one(batch, m, now_ms, tally, published)
        batch.after_commit(tally.flush)  # an aborted batch is counted when it is replayed, not twice
        self._rejected_log.flush()
        if self._debug:
            # Delivery reports arrive while the transaction commits: ``published`` is empty until then.
            batch.after_commit(lambda: self._log_published(published))

    def _one(self, batch: Batch, m, now_ms: int, tally, published: list) -> None:
        topic, partition, offset = m.topic(), m.partition(), m.offset()
        kind = self.kind_of[topic]
        raw_headers = m.headers() or []
        hdrs = h.to_dict(raw_headers)
        src = Source(topic, partition, offset, m.timestamp()[1], m.key(), raw_headers)
        out = self._process(kind, m.value(), hdrs, src)
        if out.rejected is not None and out.rejected.reason in _SYSTEMS_REASONS and self._refresh_systems():
            out = self._process(kind, m.value(), hdrs, src)
        env = out.envelope
        source = env.source_system or None
        label = system_label(self._snapshot, source)  # never the header itself: bounded metric labels
        tally.seen(kind, label)
        if out.rejected is not None:
            rej = out.rejected
            writer = writer_of(self._snapshot, kind, hdrs, m.value(), rej)
            # Appended last: dlq_headers drops any hub.error.* the publisher sent, so this one cannot be forged.
            batch.send(self.dlq, *bounded.letter(m.key(), m.value(),
                                                 dlq_headers(raw_headers, rej, out.exception_class, src, env.trace_id)
                                                 + [(ERR_WRITER, writer.encode())], self.settings.dlq_max_value_bytes))
            tally.rejected(kind, rej.reason, writer)
            if self._rejected_log.allow(writer, rej.reason):
                logger.warning("event_rejected", kind=kind, reason=rej.reason, stage=rej.stage, message=rej.message,
                               field=rej.field, trace_id=cut(env.trace_id), source_system=label, writer=writer,
                               source_event_id=cut(env.source_event_id), commune_code=cut(env.commune_hint),
                               topic=topic, partition=partition, offset=offset)
            return
        store = batch.store("dedupe", (topic, partition))
        feed = self.feed_of[kind]
        for rec in out.records:
            key = rec.event_id.encode()
            first = store.get(key)
            if first is not None and now_ms - int(first) < self.window_ms:
                tally.duplicate(kind)
                logger.info("event_duplicate", kind=kind, reason="duplicate", event_id=rec.event_id,
                            commune_code=rec.commune_code, trace_id=env.trace_id, source_system=source,
                            topic=topic, partition=partition, offset=offset)
                continue
            store.put(key, b"%d" % now_ms)
            if self._debug:
                batch.send(feed, rec.key, rec.value, rec.headers, on_delivery=_collect(published, rec, env, kind))
                logger.debug("event_normalized", kind=kind, event_id=rec.event_id, commune_code=rec.commune_code,
                             trace_id=env.trace_id, source_system=source, topic=topic, partition=partition,
                             offset=offset)
            else:
                batch.send(feed, rec.key, rec.value, rec.headers)
            tally.published(kind, label)

    def _process(self, kind: str, value: bytes | None, hdrs: dict[str, str], src: Source) -> Outcome:
        # Headers and partition first: nothing from a header is trusted (nor MACed) before it passed its rule.
        src.partition_count = self._partitions.get(src.topic, src.partition)
        rej = admit(hdrs, src)
        if rej is None:
            system = self._snapshot.get(hdrs.get(h.SOURCE, ""))
            rej = signatures.check(system.key_hash if system is not None and system.active else None, kind, hdrs,
                                   value, required=self.signed_only, accept_v1=self.settings.signature_accept_v1)
        if rej is not None:
            return Outcome(envelope(kind, hdrs, src), rejected=rej, exception_class="hub.errors.Rejected")
        return process(kind, value, hdrs, src, self.ctx, self.schemas, admitted=True)

    def _use(self, snapshot) -> None:
        self._snapshot = snapshot
        self.ctx.organs = snapshot.organs
        self.ctx.scope_of = snapshot.scope

    def _refresh_systems(self) -> bool:
        """Read the systems topic to its end once (bounded; at most every second): a system or OrganId
        onboarded a moment ago must not be refused because the follower has not polled yet."""
        now = time.monotonic()
        if now - self._last_refresh < _REFRESH_EVERY_S:
            return False
        self._last_refresh = now
        try:
            self._use(self.systems.refresh_now())
        except TransientError as exc:
            logger.warning("systems_refresh_failed", reason="unavailable", error=str(exc)[:200])
            return False
        return True

    @staticmethod
    def _log_published(published: list[tuple]) -> None:
        for kind, event_id, commune, trace_id, source, md_topic, md_partition, md_offset in published:
            logger.debug("event_published", kind=kind, event_id=event_id, commune_code=commune, trace_id=trace_id,
                         source_system=source, topic=md_topic, partition=md_partition, offset=md_offset)

    # -- timer: forget what the window no longer covers ------------------------------------------
    def punctuate(self, batch: Batch, now_ms: int) -> None:
        self._rejected_log.flush()  # a flood that stopped still gets its suppressed-count line
        cutoff = b"%d" % (now_ms - self.window_ms)
        for store in batch.stores("dedupe").values():
            store.drop_while(lambda _k, v: len(v) < len(cutoff) or (len(v) == len(cutoff) and v < cutoff))


def _collect(published: list, rec, env, kind: str):
    def done(err, msg) -> None:
        if err is None:
            published.append((kind, rec.event_id, rec.commune_code, env.trace_id, env.source_system or None,
                              msg.topic(), msg.partition(), msg.offset()))
    return done
