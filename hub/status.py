"""``hub status``: one bounded look at the whole hub for operators.

Broker reachability, every hub topic with partitions and message counts, the worker group's
lag per ingest topic, registered systems, dead letters by reason and commune freshness. Each
section is read with bounded timeouts; a failing section is reported, not raised, except an
unreachable broker (:class:`BrokerUnreachable`), which makes the whole report pointless.

Freshness reads only the tail of each feed partition (``tail`` records, default 1,000): the
last feed record time per commune (record key = commune code, Kafka timestamp = hub time).
Communes of the province without a feed record in that tail, or whose last one is older than
``silent_after_h``, are flagged silent — a digitalization gap made visible.
"""

from __future__ import annotations

import time
from typing import Any

from hub import dlq, kafka_config, kafka_read, reference, topics
from hub import headers as h
from hub import systems as systems_list
from hub.errors import HubError
from hub.settings import Settings


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


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def render(report: dict[str, Any], *, max_silent: int = 12) -> str:
    """The one-screen text of ``hub status``."""
    out = [f"broker      {report['bootstrap']}: reachable ({report['brokers']} broker(s))", "", "topics"]
    rows = [("TOPIC", "PARTITIONS", "MESSAGES", "END OFFSETS")]
    for name, t in report["topics"].items():
        if not t.get("exists"):
            rows.append((name, "-", "-", "missing (run `hub topics create`)"))
            continue
        rows.append((name, str(t["partitions"]), str(t["messages"]),
                     ",".join(str(v) for _, v in sorted(t["end_offsets"].items()))))
    out += _table(rows)
    g = report["group"]
    out += ["", f"worker group {g['group']}"]
    if "error" in g:
        out.append(f"  error: {g['error']}")
    else:
        for topic, v in g["topics"].items():
            note = "" if v["committed"] else "  (no committed offset yet)"
            out.append(f"  {topic}: lag {v['lag']}{note}")
    s = report["systems"]
    out += ["", "systems     " + (f"error: {s['error']}" if "error" in s
                                  else f"{s['active']} active, {s['revoked']} revoked")]
    d = report["dlq"]
    if "error" in d:
        out.append(f"dead letters error: {d['error']}")
    else:
        out.append(f"dead letters {d['total']} ({d['pending']} pending replay)")
        out += [f"  {r}: {c['total']} ({c['pending']} pending)" for r, c in d["by_reason"].items()]
    f = report["freshness"]
    out.append("")
    if "error" in f:
        out.append(f"freshness   error: {f['error']}")
        return "\n".join(out) + "\n"
    out.append(f"freshness   last {report['tail']} records per feed partition; silent = no feed record "
               f"for more than {f['silent_after_h']:g}h")
    rows = [("COMMUNE", "NAME", "LAST FEED RECORD", "SOURCES", "")]
    rows += [(code, c["name"], c["last"] or "-", ",".join(c["sources"]) or "-", "SILENT" if c["silent"] else "")
             for code, c in f["communes"].items()]
    if len(rows) > 1:
        out += _table(rows)
    silent = f["silent"]
    covered = sum(1 for c in silent if c["registered"])
    out.append(f"  silent: {len(silent)} of {f['province_communes']} communes of province {report['province']}"
               f" ({covered} covered by a registered system)")
    if silent:
        shown = ", ".join(f"{c['code']} {c['name']}{'*' if c['registered'] else ''}" for c in silent[:max_silent])
        more = f" … and {len(silent) - max_silent} more (--json lists all)" if len(silent) > max_silent else ""
        out.append(f"    {shown}{more}" + ("  (* covered by a registered system)" if covered else ""))
    return "\n".join(out) + "\n"


# --- Kafka I/O ---------------------------------------------------------------------------------
def collect(settings: Settings, *, silent_after_h: float = 24.0, tail: int = 1000,
            timeout_s: float = 10.0) -> dict[str, Any]:
    """The status report as a dict; raises BrokerUnreachable when Kafka does not answer."""
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
        report["group"] = _group(admin, settings, offsets)
        report["systems"] = _systems(settings, timeout_s)
        report["dlq"] = _dlq(settings, offsets, timeout_s)
        report["freshness"] = _freshness(settings, offsets, tail, silent_after_h, timeout_s,
                                         frozenset(report["systems"].get("communes", ())))
        return report
    finally:
        if consumer is not None:
            consumer.close()
        admin.close()


def _group(admin, settings: Settings, offsets) -> dict[str, Any]:
    from kafka import TopicPartition
    from kafka.errors import KafkaError

    group = settings.group("normalize")
    out: dict[str, Any] = {"group": group, "topics": {}}
    ingest = [settings.topic(t) for t in topics.INGEST_BY_KIND.values() if settings.topic(t) in offsets]
    tps = [TopicPartition(t, p) for t in ingest for p in offsets[t][1]]
    try:
        committed_all = admin.list_group_offsets({group: tps}).get(group, {}) if tps else {}
    except KafkaError as exc:
        return {**out, "error": f"{type(exc).__name__}: {exc}"}
    for t in ingest:
        begins, ends = offsets[t]
        committed = {tp.partition: om.offset for tp, om in committed_all.items() if tp.topic == t}
        out["topics"][t] = lag(ends, begins, committed)
    return out


def _systems(settings: Settings, timeout_s: float) -> dict[str, Any]:
    try:
        systems = systems_list.read(settings, timeout_s=timeout_s).list()
    except HubError as exc:
        return {"error": str(exc)}
    active = sum(1 for s in systems if s.active)
    return {"active": active, "revoked": len(systems) - active,
            "communes": sorted({c for s in systems if s.active for c in s.communes})}


def _dlq(settings: Settings, offsets, timeout_s: float) -> dict[str, Any]:
    name = settings.topic(topics.DLQ)
    if name not in offsets:
        return {"error": f"topic {name} does not exist"}
    try:
        # Committed records only: the high watermarks in ``offsets`` may lie past an open transaction.
        ends = kafka_read.end_offsets(settings, name, timeout_s=timeout_s, client="status-dlq")
        summary = dlq.summarize(dlq.scan(settings, ends, timeout_s=timeout_s), dlq.read_markers(settings, timeout_s))
    except HubError as exc:
        return {"error": str(exc)}
    d = summary.as_dict()
    d.pop("records")
    return d


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
