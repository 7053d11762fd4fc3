"""``hub status``: one bounded look at the whole hub for operators, and whether it needs one.

Broker reachability, every hub topic with partitions and message counts, every worker group
(members, lag per input topic, sampled twice ``lag_sample_s`` apart), registered systems, dead
letters by reason (and those of the last ``dlq_window_h`` hours still pending), silent source
systems (``feed.freshness.v1``), open overdue directives (``feed.directive.v1``) and commune
freshness. Each section is read with bounded timeouts; a failing section is reported, not
raised, except an unreachable broker (:class:`BrokerUnreachable`), which makes the whole report
pointless. :mod:`hub.admin.verdict` turns the report into the exit status and the last line,
:mod:`hub.admin.status_text` into the text operators read.

The province at a glance — the 5 worst communes by timeliness this month, overdue directives,
silent systems — comes from the KPI, directive and freshness feeds, read with the gateway's read
model code (:func:`hub.read.model.load`, KPI rows of the current month only).

Freshness reads only the tail of each feed partition (``tail`` records, default 1,000): the
last feed record time per commune (record key = commune code, Kafka timestamp = hub time).
Communes of the province without a feed record in that tail, or whose last one is older than
``silent_after_h``, are flagged silent — a digitalization gap made visible.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from hub import clock, reference
from hub import systems as systems_list
from hub.admin import dlq, verdict
from hub.analytics import periods as pr
from hub.contract import codec, topics
from hub.contract import headers as h
from hub.errors import HubError
from hub.kafka import config as kafka_config
from hub.kafka import read as kafka_read
from hub.read.model import load
from hub.read.queries import acceptance_met, overdue_directives, province_ranking, silent_systems
from hub.settings import Settings

WORST = 5  # communes shown at the bottom of the month's timeliness ranking


class BrokerUnreachable(HubError):
    """Kafka does not answer at the configured bootstrap."""


def _iso(ms: int | None) -> str | None:
    return None if ms is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


# --- pure parts ---------------------------------------------------------------------------------
def lag(ends: dict[int, int], begins: dict[int, int], committed: dict[int, int]) -> dict[str, Any]:
    """Lag of one topic: end minus committed per partition (from the beginning when never committed)."""
    parts = {}
    for p, end in sorted(ends.items()):
        c = committed.get(p, -1)
        start = c if c >= 0 else begins.get(p, 0)
        parts[p] = {"end": end, "committed": c if c >= 0 else None, "lag": max(0, end - start)}
    return {"lag": sum(v["lag"] for v in parts.values()), "partitions": parts,
            "committed": any(v["committed"] is not None for v in parts.values())}


def _stuck_since(metadata: str | None) -> int | None:
    """The ``stuck_since`` a worker wrote into a committed offset's metadata (hub.engine.poison), if any."""
    if not metadata or "stuck_since" not in metadata:
        return None
    try:
        since = orjson.loads(metadata.rstrip("\x00"))["stuck_since"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return since if isinstance(since, int) else None


def stuck_partitions(marks: dict, committed_before: dict, committed_after: dict, ends: dict) -> list[dict]:
    """Partitions a worker marked stuck that are still stuck: the marked offset is the committed one at
    both samples (it did not move) and records wait after it."""
    out = []
    for (topic, partition), (offset, since) in sorted(marks.items()):
        tp = (topic, partition)
        if committed_before.get(tp) == committed_after.get(tp) == offset and ends.get(tp, 0) > offset:
            out.append({"topic": topic, "partition": partition, "offset": offset, "since": _iso(since),
                        "waiting": ends[tp] - offset})
    return out


def stuck_reasons(report_groups: dict[str, Any]) -> list[dict[str, str]]:
    """``partition_stuck`` reasons of the verdict, one per stuck partition."""
    return [{"code": "partition_stuck", "message": f"worker group {g['group']}: {s['topic']} partition "
             f"{s['partition']} stuck at offset {s['offset']} since {s['since']} ({s['waiting']} record(s) "
             "waiting); see docs/operations.md, \"partition_stuck\""}
            for g in report_groups.values() for s in g.get("stuck") or ()]


def working_calendar(settings: Settings) -> dict[str, Any]:
    """The years whose official working-day schedule is loaded, and the current or next one that is not
    (at the analytics' now, HUB_CLOCK): directive deadlines in working days would miss that year's swaps."""
    from hub.analytics.config import calendar_from_settings
    from hub.analytics.worktime import stale_years

    try:
        cal = calendar_from_settings(settings)
        now = clock.from_setting(settings.clock)()
    except HubError as exc:
        return {"error": str(exc)}
    return {"scheduled_years": sorted(cal.scheduled_years), "stale_years": stale_years(cal, now)}


def calendar_reasons(section: dict[str, Any]) -> list[dict[str, str]]:
    """``calendar_stale`` reasons of the verdict, one per year without an official schedule."""
    from hub.analytics.worktime import stale_message

    if "error" in section:
        return [{"code": "section_unreadable", "message": f"working calendar: {section['error']}"}]
    return [{"code": "calendar_stale", "message": stale_message(y)} for y in section.get("stale_years", ())]


def freshness(last_by_commune: dict[str, dict[str, Any]], province: str, now_ms: int,
              silent_after_h: float, registered: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Seen communes with their last feed record time, and the province's silent communes.

    Silent communes covered by an active registered system come first: a system that stopped
    publishing is more urgent than a commune that was never onboarded.
    """
    limit = now_ms - int(silent_after_h * 3600 * 1000)
    units = reference.communes()
    seen = {code: {"name": units[code].name if code in units else "?", "last": _iso(v["last_ms"]),
                   "sources": sorted(v["sources"]), "silent": v["last_ms"] < limit}
            for code, v in sorted(last_by_commune.items())}
    silent = [{"code": c.code, "name": c.name, "last": seen[c.code]["last"] if c.code in seen else None,
               "registered": c.code in registered}
              for c in sorted(reference.province_communes(province), key=lambda c: (c.code not in registered, c.code))
              if c.code not in seen or seen[c.code]["silent"]]
    return {"silent_after_h": silent_after_h, "communes": seen, "silent": silent,
            "province_communes": len(reference.province_communes(province))}


def track(acc: dict[str, dict[str, Any]], key: bytes | None, timestamp_ms: int, source: str | None) -> None:
    """Fold one feed record into {commune: {last_ms, sources}}."""
    if not key:
        return
    commune = key.decode("utf-8", "replace")
    row = acc.setdefault(commune, {"last_ms": timestamp_ms, "sources": set()})
    row["last_ms"] = max(row["last_ms"], timestamp_ms)
    if source:
        row["sources"].add(source)


def glance(snap, province: str, month: str) -> dict[str, Any]:
    """The province at a glance from a read-model snapshot: the worst communes by timeliness in ``month``,
    overdue directives (who has not accepted them) and silent systems."""
    rated = [(c, r) for c, r in province_ranking(snap, province, "month", month)
             if r is not None and r.get("timeliness_rate") is not None]
    worst = [{"code": c.code, "name": c.name, "timeliness": r["timeliness_rate"], "on_time": r["dossiers_on_time"],
              "in_scope": r["dossiers_in_scope"]} for c, r in reversed(rated[-WORST:])]
    units = reference.communes()
    directives = [{"document_id": doc, "code_notation": rows[min(rows)].get("code_notation"),
                   "recipients": len(rows), "overdue": sorted(c for c, r in rows.items() if r.get("overdue")),
                   "not_accepted": sorted(c for c, r in rows.items() if not acceptance_met(r))}
                  for doc, rows in overdue_directives(snap)]
    silent = [{"code": s["commune_code"], "name": units[s["commune_code"]].name if s["commune_code"] in units
               else "?", "source_system": s["source_system"], "kind": s["kind"],
               "last": _iso(s["last_ingest_time"])} for s in silent_systems(snap)]
    return {"month": month, "communes_rated": len(rated), "worst": worst, "overdue_directives": directives,
            "silent_systems": silent}


# --- Kafka I/O ---------------------------------------------------------------------------------
def collect(settings: Settings, *, silent_after_h: float = 24.0, tail: int = 1000, timeout_s: float = 10.0,
            lag_sample_s: float = 3.0, dlq_window_h: float = 1.0, max_lag: int = 1000) -> dict[str, Any]:
    """The status report as a dict, with its ``verdict``; raises BrokerUnreachable when Kafka does not answer."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    ms = int(timeout_s * 1000)
    try:
        admin = KafkaAdminClient(**kafka_config.kafka_python(settings), client_id=f"{settings.app_id}-status",
                                 bootstrap_timeout_ms=ms, request_timeout_ms=ms)
    except (KafkaError, OSError, ValueError) as exc:
        raise BrokerUnreachable(f"Kafka at {settings.kafka_bootstrap} is not reachable: {exc}") from exc
    consumer = None
    try:
        try:
            cluster = admin.describe_cluster()
            existing = set(admin.list_topics())
            consumer = KafkaConsumer(**kafka_config.kafka_python(settings), enable_auto_commit=False,
                                     client_id=f"{settings.app_id}-status", bootstrap_timeout_ms=ms,
                                     request_timeout_ms=max(ms, 10_000))
        except KafkaError as exc:
            raise BrokerUnreachable(f"Kafka at {settings.kafka_bootstrap} did not answer: {exc}") from exc
        report: dict[str, Any] = {"bootstrap": settings.kafka_bootstrap, "reachable": True,
                                  "brokers": len(cluster.get("brokers") or ()), "province": settings.province,
                                  "tail": tail, "topics": {}}
        offsets: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
        for spec in topics.specs(settings):
            if spec.name not in existing:
                report["topics"][spec.name] = {"exists": False}
                continue
            tps = [TopicPartition(spec.name, p) for p in sorted(consumer.partitions_for_topic(spec.name) or ())]
            ends = {tp.partition: o for tp, o in consumer.end_offsets(tps).items()}
            begins = {tp.partition: o for tp, o in consumer.beginning_offsets(tps).items()}
            offsets[spec.name] = (begins, ends)
            report["topics"][spec.name] = {"exists": True, "partitions": len(tps), "end_offsets": ends,
                                           "messages": sum(ends[p] - begins.get(p, 0) for p in ends)}
        watch = _GroupWatch(admin, consumer, settings, offsets)  # first lag sample; the second after the rest
        report["systems"] = _systems(settings, timeout_s)
        report["dlq"] = _dlq(settings, offsets, timeout_s, dlq_window_h)
        now = int(time.time() * 1000)
        active = frozenset(report["systems"].get("active_ids", ()))
        report["silent_systems"] = _latest_rows(settings, offsets, topics.FEED_FRESHNESS, timeout_s,
                                                lambda rows: {"silent": verdict.silent_rows(rows, now, active)})
        report["directives"] = _latest_rows(settings, offsets, topics.FEED_DIRECTIVE, timeout_s, lambda rows: {
            "rows": len(rows), "overdue": verdict.overdue_rows(rows, now)})
        report["freshness"] = _freshness(settings, offsets, tail, silent_after_h, timeout_s,
                                         frozenset(report["systems"].get("communes", ())))
        report["province_glance"] = _glance(settings, timeout_s)
        report["groups"] = watch.finish(lag_sample_s)
        report["verdict"] = verdict.judge(report, max_lag=max_lag)
        stuck = stuck_reasons(report["groups"])
        if stuck:
            report["verdict"] = {"ok": False, "reasons": report["verdict"]["reasons"] + stuck}
        report["calendar"] = working_calendar(settings)
        stale = calendar_reasons(report["calendar"])
        if stale:
            report["verdict"] = {"ok": False, "reasons": report["verdict"]["reasons"] + stale}
        return report
    finally:
        if consumer is not None:
            consumer.close()
        admin.close()


def processors(settings: Settings) -> dict[str, list[str]]:
    """{processor: its input topics} for the processors this deployment runs (HUB_WORKER_PROCESSORS)."""
    inputs: dict[str, set[str]] = {}
    for st in topics.stores(settings):  # every processor declares its inputs with its stores
        inputs.setdefault(st.processor, set()).update(settings.topic(t) for t in st.inputs)
    wanted = [n.strip() for n in settings.worker_processors.split(",") if n.strip()]
    return {p: sorted(inputs[p]) for p in wanted if p in inputs}


class _GroupWatch:
    """Committed offsets and end offsets of every worker group, sampled twice: is the lag growing?"""

    def __init__(self, admin, consumer, settings: Settings, offsets) -> None:
        from kafka import TopicPartition

        self.admin, self.consumer, self.offsets = admin, consumer, offsets
        self.groups = {p: settings.group(p) for p in processors(settings)}
        self.tps = {p: [TopicPartition(t, part) for t in inputs if t in offsets for part in offsets[t][1]]
                    for p, inputs in processors(settings).items()}
        self.started = time.monotonic()
        self.marks: dict[str, dict] = {}  # processor -> {tp: (offset, stuck since ms)} from the last sample
        self.error: str | None  # _sample sets it on failure; a failed first sample shows as first=None
        self.first: dict[str, tuple[dict, dict]] | None
        self.first, self.error = self._sample(), None

    def _sample(self) -> dict[str, tuple[dict, dict]] | None:
        from kafka.errors import KafkaError

        try:
            wanted = {self.groups[p]: tps for p, tps in self.tps.items() if tps}
            committed = self.admin.list_group_offsets(wanted) if wanted else {}
            ends = self.consumer.end_offsets([tp for tps in self.tps.values() for tp in tps]) if wanted else {}
        except KafkaError as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return None
        self.marks = {p: {(tp.topic, tp.partition): (om.offset, _stuck_since(om.metadata))
                          for tp, om in committed.get(self.groups[p], {}).items()
                          if om is not None and om.offset >= 0 and _stuck_since(om.metadata) is not None}
                      for p in self.tps}
        return {p: ({(tp.topic, tp.partition): om.offset for tp, om in committed.get(self.groups[p], {}).items()
                     if om is not None and om.offset >= 0},
                    {(tp.topic, tp.partition): ends[tp] for tp in tps}) for p, tps in self.tps.items()}

    def finish(self, sample_s: float) -> dict[str, Any]:
        from kafka.errors import KafkaError

        time.sleep(max(0.0, sample_s - (time.monotonic() - self.started)))  # a measuring window, not a wait
        second = self._sample() if self.first is not None else None
        window = time.monotonic() - self.started
        try:
            described = self.admin.describe_groups(list(self.groups.values())) if self.groups else {}
        except KafkaError as exc:
            self.error = self.error or f"{type(exc).__name__}: {exc}"
        if second is None or self.error:
            return {p: {"group": g, "error": self.error or "no sample"} for p, g in self.groups.items()}
        assert self.first is not None  # second is only sampled after a first
        out = {}
        for p, group in self.groups.items():
            info = described.get(group) or {}
            committed, ends = second[p]
            before = sum(self._lags(*self.first[p]).values(), start=0)
            lags = {}
            for topic in sorted({t for t, _ in ends}):
                lags[topic] = lag({q: e for (t, q), e in ends.items() if t == topic}, self.offsets[topic][0],
                                  {q: c for (t, q), c in committed.items() if t == topic})
            out[p] = verdict.group_report(group, info.get("group_state") or "Unknown", len(info.get("members") or ()),
                                          lags, before, self.first[p][0], committed, window)
            out[p]["stuck"] = stuck_partitions(self.marks.get(p, {}), self.first[p][0], committed, ends)
        return out

    def _lags(self, committed: dict, ends: dict) -> dict:
        return {tp: max(0, end - committed.get(tp, self.offsets[tp[0]][0].get(tp[1], 0))) for tp, end in ends.items()}


def _systems(settings: Settings, timeout_s: float) -> dict[str, Any]:
    try:
        systems = systems_list.read(settings, timeout_s=timeout_s).list()
    except HubError as exc:
        return {"error": str(exc)}
    active = sum(1 for s in systems if s.active)
    return {"active": active, "revoked": len(systems) - active,
            "communes": sorted({c for s in systems if s.active for c in s.communes}),
            "active_ids": sorted(s.id for s in systems if s.active)}


def _dlq(settings: Settings, offsets, timeout_s: float, window_h: float) -> dict[str, Any]:
    name = settings.topic(topics.DLQ)
    if name not in offsets:
        return {"error": f"topic {name} does not exist"}
    cutoff = int(time.time() * 1000) - int(window_h * 3_600_000)
    recent: dict[str, int] = {}

    def tap(letters, markers):  # the dead letters of the window still waiting for a replay
        for dl in letters:
            if dl.timestamp_ms >= cutoff and not markers.get(dl.coords):
                recent[dl.reason] = recent.get(dl.reason, 0) + 1
            yield dl

    try:
        # Committed records only: the high watermarks in ``offsets`` may lie past an open transaction.
        ends = kafka_read.end_offsets(settings, name, timeout_s=timeout_s, client="status-dlq")
        markers = dlq.read_markers(settings, timeout_s)
        summary = dlq.summarize(tap(dlq.scan(settings, ends, timeout_s=timeout_s), markers), markers)
    except HubError as exc:
        return {"error": str(exc)}
    d = summary.as_dict()
    d.pop("records")
    d["recent"] = {"window_h": window_h, "pending": sum(recent.values()), "by_reason": dict(sorted(recent.items()))}
    return d


def _latest_rows(settings: Settings, offsets, name: str, timeout_s: float, judge) -> dict[str, Any]:
    """``judge`` of the latest decoded row per key of a compacted derived feed (read whole, committed only)."""
    topic = settings.topic(name)
    if topic not in offsets:
        return {"error": f"topic {topic} does not exist"}
    latest: dict[bytes | None, bytes] = {}
    try:
        for m in kafka_read.read(settings, topic, timeout_s=timeout_s, client="status-rows"):
            if m.value is None:
                latest.pop(m.key, None)
            else:
                latest[m.key] = m.value
        schemas = codec.load(settings.schemas_dir)
        rows = [codec.decode_plain(schemas, v) for v in latest.values()]
    except HubError as exc:
        return {"error": str(exc)}
    return judge(rows)


def _freshness(settings: Settings, offsets, tail: int, silent_after_h: float, timeout_s: float,
               registered: frozenset[str]) -> dict[str, Any]:
    acc: dict[str, dict[str, Any]] = {}
    try:
        for kind in topics.KINDS:
            name = settings.topic(topics.FEED_BY_KIND[kind])
            if name not in offsets:
                continue
            begins = offsets[name][0]
            ends = kafka_read.end_offsets(settings, name, timeout_s=timeout_s, client="status-freshness")
            starts = {p: max(begins.get(p, 0), end - tail) for p, end in ends.items()}
            for m in kafka_read.read(settings, name, ends, starts=starts, timeout_s=timeout_s,
                                     client="status-freshness"):
                source = next((bytes(v).decode("utf-8", "replace") for k, v in m.headers or () if k == h.SOURCE),
                              None)
                track(acc, m.key, m.timestamp, source)
    except HubError as exc:
        return {"error": str(exc)}
    return freshness(acc, settings.province, int(time.time() * 1000), silent_after_h, registered)


def _glance(settings: Settings, timeout_s: float) -> dict[str, Any]:
    month = pr.containing("month", clock.from_setting(settings.clock)()).at
    suffix = f"|month|{month}"
    try:  # KPI rows of this month only: a year of a province is ~50,000 rows, the glance needs ~135
        snap = load(settings, keep=lambda feed, key: feed != "kpi" or key.endswith(suffix), timeout_s=timeout_s,
                    client="status-glance")
    except HubError as exc:
        return {"month": month, "error": str(exc)}
    return glance(snap, settings.province, month)
