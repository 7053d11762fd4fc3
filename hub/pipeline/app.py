"""The faust app: one agent per ingest topic, wired to the pure processor and the dedupe table."""

from __future__ import annotations

import asyncio
import time

import faust
from aiokafka.errors import KafkaError

from hub import codec, log, topics
from hub import headers as h
from hub.normalize import Context
from hub.normalize.context import Scope
from hub.pipeline import dedupe
from hub.pipeline.process import Source, dlq_headers, process
from hub.settings import Settings

logger = log.get("hub.pipeline")
_RETRY_MAX_S = 30.0
_REGISTRY_REASONS = frozenset({"unknown_system", "commune_not_in_scope", "kind_not_allowed", "unknown_organ"})


class Pipeline:
    """Builds the faust app for these settings; ``systems`` (a SystemsFollower) supplies scopes and organs."""

    def __init__(self, settings: Settings, systems):
        self.settings = settings
        self.systems = systems
        self.schemas = codec.load(settings.schemas_dir)
        self.window_s = settings.dedupe_window_hours * 3600
        self.ctx = Context.from_settings(settings, organs=systems.snapshot.organs, scope_of=self._scope)
        self._last_forced_refresh = 0.0
        self.recent: dict[str, set[str]] = {k: set() for k in topics.KINDS}
        self.app = faust.App(
            settings.app_id,
            broker=[f"kafka://{b.strip()}" for b in settings.kafka_bootstrap.split(",")],
            store=settings.worker_store,
            datadir=settings.worker_data_dir,
            topic_partitions=settings.partitions,
            topic_replication_factor=settings.replication_factor,
            consumer_auto_offset_reset="earliest",
            producer_acks=-1,
            web_enabled=settings.worker_web_port > 0,
            web_port=settings.worker_web_port or 6066,
            web_bind="127.0.0.1",
            web_host="127.0.0.1",
            table_cleanup_interval=60.0,
            broker_session_timeout=float(settings.worker_session_timeout_s),
            broker_heartbeat_interval=max(1.0, settings.worker_session_timeout_s / 10),
        )
        self.tables = {k: dedupe.make_table(self.app, k, settings) for k in topics.KINDS}
        self.dlq = self.app.topic(settings.topic(topics.DLQ), key_serializer="raw", value_serializer="raw")
        self.feeds = {k: self.app.topic(settings.topic(topics.FEED_BY_KIND[k]), key_serializer="raw",
                                        value_serializer="raw") for k in topics.KINDS}
        for kind in topics.KINDS:
            self._add_agent(kind)
        self._rescan: asyncio.Future | None = None
        self.app.on_partitions_assigned.connect(self._on_assigned)

    # -- scope: deny by default, but a system onboarded seconds ago must not be rejected ----
    def _scope(self, system_id: str) -> Scope | None:
        return self.systems.snapshot.scope(system_id)

    def _refresh_registry_if_stale(self) -> bool:
        now = time.monotonic()
        if now - self._last_forced_refresh < 1.0:
            return False
        self._last_forced_refresh = now
        self.systems.refresh_now()
        self.ctx.organs = self.systems.snapshot.organs
        return True

    def recover(self) -> None:
        """Read back the event ids already on the feeds (blocking; before the worker consumes)."""
        for kind in topics.KINDS:
            feed = self.settings.topic(topics.FEED_BY_KIND[kind])
            ids = dedupe.recent_feed_ids(self.settings, feed)
            self.recent[kind] |= ids
            logger.info("dedupe_recovered", kind=kind, topic=feed, recent_ids=len(ids))

    async def _on_assigned(self, sender, assigned, **kwargs) -> None:
        # A running worker that takes over partitions re-reads the feeds in the background. It
        # must not hold the agents meanwhile: faust keeps fetching during a rebalance and drops
        # what it buffered for a stalled stream, then resumes past it (see README, guarantees).
        if self._rescan is None or self._rescan.done():
            self._rescan = asyncio.ensure_future(asyncio.to_thread(self.recover))

    def _add_agent(self, kind: str) -> None:
        source = self.app.topic(self.settings.topic(topics.INGEST_BY_KIND[kind]), key_serializer="raw",
                                value_serializer="raw")

        async def agent(stream):
            async for event in stream.events():
                await self._handle(kind, event)

        agent.__name__ = f"normalize_{kind}"
        self.app.agent(source, name=f"hub.normalize_{kind}", concurrency=1)(agent)

    async def _handle(self, kind: str, event) -> None:
        msg = event.message
        raw_headers = _raw_headers(msg)
        hdrs = h.to_dict(raw_headers)
        src = Source(msg.topic, msg.partition, msg.offset, int(msg.timestamp * 1000))
        self.ctx.organs = self.systems.snapshot.organs  # the follower swaps snapshots within a second
        out = process(kind, msg.key, msg.value, hdrs, src, self.ctx, self.schemas)
        # The registry may lag a fresh onboarding by a poll interval: look again once.
        if (out.rejected is not None and out.rejected.reason in _REGISTRY_REASONS
                and await asyncio.to_thread(self._refresh_registry_if_stale)):
            out = process(kind, msg.key, msg.value, hdrs, src, self.ctx, self.schemas)
        env = out.envelope
        base = dict(kind=kind, trace_id=env.trace_id, source_system=env.source_system or None,
                    topic=msg.topic, partition=msg.partition, offset=msg.offset)
        if out.rejected is not None:
            rej = out.rejected
            await self._send(self.dlq, msg.key, msg.value,
                             dlq_headers(raw_headers, rej, out.exception_class, src))
            logger.warning("event_rejected", reason=rej.reason, stage=rej.stage, message=rej.message,
                           commune_code=env.commune_hint, **base)
            return
        table = self.tables[kind]
        for rec in out.records:
            if rec.event_id in self.recent[kind] or dedupe.seen(table, rec.event_id, self.window_s):
                logger.info("event_duplicate", event_id=rec.event_id, commune_code=rec.commune_code,
                            reason="duplicate", **base)
                continue
            feed = self.feeds[kind]
            await self._send(feed, rec.key, rec.value, rec.headers,
                             callback=_published(kind, rec.event_id, rec.commune_code, env.trace_id,
                                                 env.source_system))
            dedupe.mark(table, rec.event_id)
            logger.info("event_normalized", event_id=rec.event_id, commune_code=rec.commune_code, **base)

    async def _send(self, topic, key, value, headers, callback=None) -> None:
        """Send, retrying transient broker errors with capped exponential backoff (never DLQ them)."""
        delay = 0.2
        while True:
            try:
                await topic.send(key=key, value=value, headers=headers, callback=callback)
                return
            except KafkaError as exc:
                logger.warning("send_retry", topic=topic.get_topic_name(), reason="broker_unavailable",
                               error=str(exc)[:200], retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_S)


def _raw_headers(msg) -> h.Headers:
    hdrs = msg.headers or []
    return list(hdrs.items()) if isinstance(hdrs, dict) else list(hdrs)


def _published(kind: str, event_id: str, commune: str, trace_id: str, source: str):
    def done(fut) -> None:
        try:
            md = fut.result()
        except Exception as exc:  # logged; faust does not commit the source offset on failure
            logger.error("publish_failed", kind=kind, event_id=event_id, reason="broker_error", error=str(exc))
            return
        logger.info("event_published", kind=kind, event_id=event_id, commune_code=commune, trace_id=trace_id,
                    source_system=source, topic=md.topic, partition=md.partition, offset=md.offset)
    return done
