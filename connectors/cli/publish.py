"""``hub publish``: publish a payload (or one per line) through the durable outbox."""

from __future__ import annotations

import argparse
import sys
import time

from connectors import publisher as sdk
from hub import log
from hub.contract import topics
from hub.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("publish", help="publish events through the durable outbox (connector SDK)",
                       description="Store the payload in the local outbox (HUB_OUTBOX_PATH) and forward it "
                       "to the ingest topic. Waits until Kafka acknowledged it unless --no-wait. Logs "
                       "publish_stored and publish_forwarded per event with its trace_id and source_event_id, "
                       "and outbox_status when done.")
    p.add_argument("--system", required=True, help="publishing system id (header hub.source)")
    p.add_argument("--kind", choices=topics.KINDS, help="dossier, document or target (required unless --drain)")
    p.add_argument("--format", help="dialect: dvcqg-json, hub-json, csv, edxml, edoc-go")
    p.add_argument("--commune", help="commune code when the payload does not carry one (header hub.commune)")
    p.add_argument("--event-id", help="your source event id (deduplication key); when absent it is derived "
                   "from the payload's natural key (e.g. MaHoSo + TrangThaiHoSo + NgayCapNhat), so re-sending "
                   "the same payload makes a duplicate the hub drops")
    p.add_argument("--trace-id", help="your trace id (1-64 of A-Z a-z 0-9 . _ -) for every event of this run; "
                   "a new one per event when absent")
    p.add_argument("--lines", action="store_true", help="one payload per non-empty line of the input")
    p.add_argument("--no-wait", action="store_true", help="return once durably stored, before forwarding")
    p.add_argument("--drain", action="store_true",
                   help="publish nothing: forward what earlier runs left in the outbox, then exit")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="give up waiting for the forwarder after S seconds (default: wait forever)")
    p.add_argument("file", nargs="?", default="-", help="payload file, or - for stdin (default)")
    p.set_defaults(func=run, quiet_logs=False)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def run(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.outbox import Outbox

    if args.drain:
        return _drain(args, settings)
    if not args.kind or not args.format:
        print("hub publish: --kind and --format are required", file=sys.stderr)
        return 2
    try:
        sdk.trace_id(args.trace_id)
    except ValueError as exc:
        print(f"hub publish: --trace-id: {exc}", file=sys.stderr)
        return 2
    raw = _read(args.file)
    payloads = [line for line in raw.splitlines() if line.strip()] if args.lines else [raw]
    if not payloads or not any(p.strip() for p in payloads):
        print("hub publish: nothing to publish (empty input)", file=sys.stderr)
        return 2
    if args.event_id and len(payloads) > 1:
        print("hub publish: --event-id names one event; with --lines each line gets <id>-<n>",
              file=sys.stderr)
    logger = log.get().bind(source_system=args.system, kind=args.kind)
    box = Outbox(settings, args.system, forward=not args.no_wait)
    try:
        ids: list[str] = []
        chunk = 1000  # one transaction (one fsync) per chunk keeps large --lines inputs fast
        for start in range(0, len(payloads), chunk):
            events = []
            for i, payload in enumerate(payloads[start:start + chunk], start):
                eid = args.event_id if len(payloads) == 1 else (
                    f"{args.event_id}-{i}" if args.event_id else None)
                opts = dict(format=args.format, commune=args.commune, event_id=eid, trace_id=args.trace_id)
                events.append((args.kind, payload, opts))
            ids.extend(box.publish_many(events))
        return 0 if args.no_wait else _wait(logger, box, len(ids), args.timeout)
    finally:
        _status(logger, box)
        box.close()


def _drain(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.outbox import Outbox

    logger = log.get().bind(source_system=args.system)
    with Outbox(settings, args.system) as box:
        try:
            logger.info("publish_drain", depth=box.depth(), path=str(box.path))
            return _wait(logger, box, box.depth(), args.timeout)
        finally:
            _status(logger, box)


def _wait(logger, box, count: int, timeout_s: float | None) -> int:
    """Wait for the forwarder to empty the outbox; 0 when it did, 1 at the deadline."""
    t0 = time.monotonic()
    if not box.flush(timeout_s):
        logger.warning("publish_not_forwarded", count=count, depth=box.depth(),
                       message="stored durably; the next outbox run forwards it")
        return 1
    logger.info("publish_done", count=count, seconds=round(time.monotonic() - t0, 3))
    return 0


def _status(logger, box) -> None:
    """The outbox as this run leaves it (the forwarder also logs it every status interval)."""
    stats = box.stats()
    logger.info("outbox_status", depth=stats.depth, oldest_age_s=round(stats.oldest_age_s, 3),
                stored=stats.stored_total, forwarded=stats.forwarded_total, retries=stats.retries_total,
                path=str(box.path))
