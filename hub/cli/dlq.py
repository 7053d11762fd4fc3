"""``hub dlq list|replay``: dead letters by reason, verified writer and claimed source; re-inject them after a fix."""

from __future__ import annotations

import argparse
import sys

import orjson

from hub.admin import dlq
from hub.contract import topics
from hub.errors import REASONS
from hub.settings import Settings

REPLAY_HELP = """\
Re-inject dead letters into the ingest topic they were read from (hub.error.topic), with
their original key, value and headers, the hub.error.* headers removed and hub.replayed set
to the replay count. Use it after the cause is fixed (a commune added to a system's scope, a
mapper bug fixed, an OrganId registered).

Replaying is safe to repeat: the worker deduplicates on (source system, event id) like any
other record, so a dead letter replayed twice still yields at most one feed record. Each
replayed dead letter is recorded (topic hub.dlq.replayed.v1); a later replay skips it unless
--again is given. A record rejected again lands on the DLQ as a new dead letter."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dlq", help="list and replay dead letters (rejected ingest records)")
    dsub = p.add_subparsers(dest="action", required=True)
    ls = dsub.add_parser("list", help="counts of dead letters by reason and writer (never payloads)",
                         description="Read the whole DLQ (up to its end offsets at start) and count dead "
                         "letters by reason, by verified writer (the system whose signature the record "
                         "carried, else 'unverified') and by the source system the record claims "
                         "(hub.source, which any publisher can set), with how many are still pending "
                         "replay. Payload bytes are never printed: they may hold personal data.")
    _filters(ls)
    ls.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ls.add_argument("--show", type=int, default=0, metavar="N",
                    help="also show the metadata of the first N matching dead letters")
    ls.add_argument("--timeout", type=float, default=30.0, help="seconds without progress before giving up")
    ls.set_defaults(func=list_, quiet_logs=True)
    rp = dsub.add_parser("replay", help="re-inject dead letters into their ingest topic (safe to repeat)",
                         description=REPLAY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _filters(rp)
    rp.add_argument("--dry-run", action="store_true", help="show what would be replayed; send nothing")
    rp.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rp.add_argument("--again", action="store_true", help="also replay dead letters that were replayed before")
    rp.add_argument("--timeout", type=float, default=30.0, help="seconds without progress before giving up")
    rp.set_defaults(func=replay, quiet_logs=True)


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reason", metavar="R", help="only this reason code, e.g. commune_not_in_scope "
                   f"(one of the {len(REASONS)} codes listed in the README)")
    p.add_argument("--source", metavar="S", help="only dead letters claiming this source system id (hub.source)")
    p.add_argument("--writer", metavar="W", help="only dead letters provably written by this system id "
                   "(hub.error.writer), or 'unverified'")


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def render_summary(topic: str, summary: dlq.Summary) -> str:
    """The human table of ``hub dlq list``."""
    lines = [f"{topic}: {summary.total} dead letters, {summary.pending} pending replay"]
    if not summary.total:
        return lines[0] + "\n"
    for title, table in (("REASON", summary.by_reason), ("WRITER (VERIFIED)", summary.by_writer),
                         ("CLAIMED SOURCE SYSTEM", summary.by_source)):
        lines.append("")
        rows: list[tuple[str, ...]] = [(title, "TOTAL", "PENDING")]
        rows += [(name, str(c["total"]), str(c["pending"])) for name, c in sorted(table.items())]
        lines += _table(rows)
    if summary.shown:
        lines.append("")
        rows = [("DLQ", "REASON", "STAGE", "WRITER", "CLAIMED", "COMMUNE", "ORIGIN", "FAILED AT", "REPLAYED",
                 "MESSAGE")]
        for r in summary.shown:
            rows.append((f"{r['dlq_partition']}:{r['dlq_offset']}", r["reason"], r["stage"], r["writer"],
                         (r["source_system"] or "-")[:64], (r["commune"] or "-")[:16],
                         f"{r['topic']}[{r['partition']}]@{r['offset']}", r["failed_at"] or "-",
                         str(r["replayed"]), r["message"][:100]))
        lines += _table(rows)
    return "\n".join(lines) + "\n"


def list_(args: argparse.Namespace, settings: Settings) -> int:
    summary = dlq.list_letters(settings, reason=args.reason, source=args.source, writer=args.writer,
                               show=max(0, args.show), timeout_s=args.timeout)
    topic = settings.topic(topics.DLQ)
    if args.json:
        print(orjson.dumps({"topic": topic, **summary.as_dict()}).decode())
    else:
        sys.stdout.write(render_summary(topic, summary))
    return 0


def render_plan(p: dlq.ReplayPlan, *, dry_run: bool) -> str:
    verb = "would replay" if dry_run else "to replay"
    lines = [f"{verb}: {len(p.todo)} dead letters"]
    counts = p.counts()
    for name, n in counts["by_reason"].items():
        lines.append(f"  reason {name}: {n}")
    for name, n in counts["by_writer"].items():
        lines.append(f"  writer {name}: {n}")
    for name, n in counts["by_source"].items():
        lines.append(f"  claimed source {name}: {n}")
    if p.already:
        lines.append(f"skipped: {p.already} already replayed (use --again to replay them again)")
    if p.refused:
        lines.append(f"refused: {len(p.refused)} whose hub.error.topic is not an ingest topic of this hub")
    if p.truncated:
        lines.append(f"refused: {len(p.truncated)} truncated (hub.error.truncated): not the original bytes")
    return "\n".join(lines) + "\n"


def replay(args: argparse.Namespace, settings: Settings) -> int:
    p = dlq.plan(settings, reason=args.reason, source=args.source, writer=args.writer, again=args.again,
                 timeout_s=args.timeout)
    sys.stdout.write(render_plan(p, dry_run=args.dry_run))
    for dl in p.refused:
        print(f"refused {dl.partition}:{dl.offset}: origin topic {dl.origin_topic or '(none)'!r} is not one of "
              f"{', '.join(sorted(dlq.ingest_topics(settings)))}", file=sys.stderr)
    for dl in p.truncated:
        print(f"refused {dl.partition}:{dl.offset}: truncated dead letter (hub.error.truncated): it holds only "
              "the first bytes of the original record; replay it from the publisher's copy "
              "(hub.error.original.sha256 identifies it)", file=sys.stderr)
    if args.dry_run or not p.todo:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print("hub dlq replay: not a terminal; add --yes to replay without confirmation", file=sys.stderr)
            return 1
        answer = input(f"Replay {len(p.todo)} dead letters into their ingest topics? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("nothing replayed")
            return 1
    done = dlq.replay(settings, p, timeout_s=args.timeout)
    print(f"replayed: {done} dead letters")
    return 0
