"""``hub trace <trace_id>``: one event's path through the hub, from Kafka and/or collected JSON logs.

Kafka side (bounded in time by ``--since``: each topic is read from the offsets of that instant,
``offsets_for_times``, to its end offsets of now, ``read_committed``): the ingest topics (received,
and re-injected copies), the feeds (published: each feed record names its ingest record in
``hub.origin``), the DLQ (rejected, with the reason), the replay markers (replayed), and the derived
feeds whose rows name the trace (KPI ``trace_ids``, directive ``trace_id``). An ingest record the
normalize group has committed past without any feed record or dead letter was a duplicate.
Logs side: the JSON lines of every process (``--logs``), the same path from the lines that carry
the trace id. The pure part is :mod:`hub.admin.trace`.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime

import orjson

from hub.admin import trace
from hub.contract import codec, topics
from hub.contract import headers as h
from hub.errors import ConfigError
from hub.kafka import config as kafka_config
from hub.kafka import read as kafka_read
from hub.settings import Settings

_SINCE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TRACE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trace", help="one event's path by its trace id: received, normalized or rejected, "
                       "published, replayed, derived rows",
                       description="Rebuild the path of the event(s) of one trace id (the gateway's 202 body, "
                       "the SDK's publish_stored line and every log line name it). Reads the ingest topics, the "
                       "feeds, the DLQ, the replay markers and the derived feeds from --since on "
                       "(read_committed), and/or JSON log files collected from the hub's processes (--logs). "
                       "Exit status 1 when the trace id is found nowhere.")
    p.add_argument("trace_id", help="the trace id (1-64 of A-Z a-z 0-9 . _ -; a W3C traceparent's trace id)")
    p.add_argument("--since", default="24h", metavar="AGE|INSTANT",
                   help="how far back to read Kafka: 90m, 24h, 7d, or an ISO 8601 instant (default 24h)")
    p.add_argument("--logs", nargs="+", metavar="FILE", default=[],
                   help="JSON log files (one line per decision, as the hub's processes write them; - for stdin)")
    p.add_argument("--no-kafka", action="store_true", help="read only the --logs files, not Kafka")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="give up a topic read after this many seconds without progress (default 30)")
    p.set_defaults(func=run, quiet_logs=True)


def parse_since(value: str, now_ms: int) -> int:
    """``--since``: an age (``90m``, ``24h``, ``7d``) before ``now_ms``, or an ISO 8601 instant."""
    m = _SINCE.match(value.strip())
    if m:
        return now_ms - int(float(m.group(1)) * _UNIT_S[m.group(2)] * 1000)
    try:
        instant = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"--since {value!r} is neither an age like 24h / 90m / 7d nor an ISO 8601 instant") \
            from None
    if instant.tzinfo is None:
        raise ConfigError(f"--since {value!r} needs a time zone (e.g. 2025-11-20T08:00:00+07:00 or ...Z)")
    return int(instant.timestamp() * 1000)


# --- Kafka ---------------------------------------------------------------------------------------
def _header(headers, name: str) -> str | None:
    for k, v in headers or ():
        if k == name:
            return bytes(v).decode("utf-8", "replace") if v is not None else None
    return None


class KafkaSearch:
    """Reads the hub's topics from ``since_ms`` in one pass and keeps what names the trace."""

    def __init__(self, settings: Settings, trace_id: str, since_ms: int, timeout_s: float) -> None:
        self.s = settings
        self.trace_id = trace_id
        self.since_ms = since_ms
        self.timeout_s = timeout_s
        self.missing: list[str] = []

    def steps(self) -> list[trace.Step]:
        s = self.s
        ingest = {s.topic(t): kind for kind, t in topics.INGEST_BY_KIND.items()}
        feeds = {s.topic(t): kind for kind, t in topics.FEED_BY_KIND.items()}
        derived = {s.topic(topics.FEED_KPI), s.topic(topics.FEED_DIRECTIVE)}
        dlq, markers_topic = s.topic(topics.DLQ), s.topic(topics.DLQ_REPLAYED)
        schemas = codec.load(s.schemas_dir)
        needle = self.trace_id.encode()
        received, out, markers = [], [], []
        # Replay markers are written after their dead letters, so they too lie after --since.
        for m in kafka_read.read_since(s, [*ingest, *feeds, dlq, markers_topic, *derived], self.since_ms,
                                       missing=self.missing, timeout_s=self.timeout_s, client="trace"):
            if m.topic == markers_topic:
                markers.append(m)
            elif m.topic in derived:
                # Avro writes strings as their UTF-8 bytes: a row that names the trace contains them.
                if m.value is not None and needle in m.value \
                        and trace.names_trace(codec.decode_plain(schemas, m.value), self.trace_id):
                    out.append(trace.derived(m.topic, m.partition, m.offset, m.timestamp, m.key))
            elif _header(m.headers, h.TRACE_ID) != self.trace_id:
                continue
            elif m.topic in ingest:
                received.append(trace.received(m.topic, m.partition, m.offset, m.timestamp, m.key,
                                               h.to_dict(m.headers), ingest[m.topic]))
            elif m.topic in feeds:
                out.append(trace.published(m.topic, m.partition, m.offset, m.timestamp, m.key,
                                           h.to_dict(m.headers), feeds[m.topic]))
            elif m.topic == dlq:
                out.append(trace.rejected(m.topic, m.partition, m.offset, m.timestamp, h.to_dict(m.headers)))
        dead = {(st.at[1], st.at[2]) for st in out if st.stage == "rejected" and st.at}
        out += self._replays(markers, dead)
        answered = {st.origin for st in out if st.stage in ("published", "rejected") and st.origin}
        coords = {st.at for st in received if st.at}
        return received + out + trace.unanswered(received, answered, self._committed(coords) if coords else {})

    def _replays(self, markers: list, dlq_coords: set[tuple[int, int]]) -> list[trace.Step]:
        """Steps of the markers that name one of the trace's dead letters (or the trace itself)."""
        out = []
        for m in markers:
            try:
                p, o = (int(x) for x in (m.key or b"").decode().split(":"))
                marker = orjson.loads(m.value) if m.value is not None else None
            except (ValueError, orjson.JSONDecodeError):
                continue
            if isinstance(marker, dict) and ((p, o) in dlq_coords or marker.get("trace_id") == self.trace_id):
                step = trace.replayed(self.s.topic(topics.DLQ), p, o, marker)
                if step is not None:
                    out.append(step)
        return out

    def _committed(self, coords: set[trace.Coords]) -> dict[tuple[str, int], int]:
        """Committed offsets of the normalize processor's group on the partitions the trace was received on."""
        from kafka import TopicPartition
        from kafka.admin import KafkaAdminClient
        from kafka.errors import KafkaError

        group = self.s.group("normalize")
        tps = sorted({(t, p) for t, p, _o in coords})
        try:
            admin = KafkaAdminClient(**kafka_config.kafka_python(self.s), client_id=f"{self.s.app_id}-trace",
                                     request_timeout_ms=int(max(self.timeout_s, 5) * 1000))
            try:
                got = admin.list_group_offsets({group: [TopicPartition(t, p) for t, p in tps]}).get(group, {})
            finally:
                admin.close()
        except KafkaError as exc:
            raise kafka_read.unreachable(self.s, exc) from exc
        return {(tp.topic, tp.partition): om.offset for tp, om in got.items() if om is not None}


# --- logs ----------------------------------------------------------------------------------------
def _lines(files: list[str]) -> Iterator[str]:
    for name in files:
        if name == "-":
            yield from sys.stdin
            continue
        try:
            with open(name, encoding="utf-8", errors="replace") as f:
                yield from f
        except OSError as exc:
            raise ConfigError(f"--logs {name}: {exc.strerror}") from None


def log_steps(files: list[str], trace_id: str) -> list[trace.Step]:
    return [st for line in trace.log_lines(_lines(files), trace_id) if (st := trace.from_log(line)) is not None]


# --- command -------------------------------------------------------------------------------------
def run(args: argparse.Namespace, settings: Settings) -> int:
    if not _TRACE_ID.match(args.trace_id):
        raise ConfigError("trace id must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
    if args.no_kafka and not args.logs:
        raise ConfigError("--no-kafka needs --logs FILE...")
    now_ms = int(time.time() * 1000)
    since_ms = parse_since(args.since, now_ms)
    searched, kafka_steps, missing = [], [], []
    if not args.no_kafka:
        import logging

        logging.getLogger("kafka").setLevel(logging.CRITICAL)  # the one-line error says it
        search = KafkaSearch(settings, args.trace_id, since_ms, args.timeout)
        kafka_steps = search.steps()
        missing = search.missing
        searched.append(f"Kafka at {settings.kafka_bootstrap} since {trace.iso(since_ms)}")
    logs = log_steps(args.logs, args.trace_id) if args.logs else []
    if args.logs:
        searched.append(f"{len(args.logs)} log file(s)")
    steps = trace.path(kafka_steps, logs, settings.topic(topics.DLQ))
    rep = trace.report(args.trace_id, steps, searched="; ".join(searched), since=trace.iso(since_ms),
                       logs=args.logs, missing_topics=missing)
    if args.json:
        print(orjson.dumps(rep).decode())
    else:
        sys.stdout.write(trace.render(rep, steps))
    return 0 if steps else 1
