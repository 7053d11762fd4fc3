"""``hub import DIR``: publish the CSV / JSON / edXML files a commune drops in a folder."""

from __future__ import annotations

import argparse
import os
import sys

import orjson

from hub.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import dropped files (CSV dossier or target rows, DVCQG JSON, edXML/eDoc)",
                       description="Publish every *.csv, *.json and *.xml file in DIR, then move it to "
                       "DIR/done/ (or DIR/rejected/ with a .reason.txt). Symbolic links, hard links and other "
                       "non-regular files are refused unread (reason unsafe_file). A ledger in DIR/.hub-import-ledger "
                       "and deterministic source event ids (each record's natural key) make re-runs publish "
                       "nothing twice.")
    p.add_argument("dir", metavar="DIR", help="the drop folder")
    p.add_argument("--system", required=True, help="publishing system id the files come from")
    p.add_argument("--watch", action="store_true", help="keep polling the folder (Ctrl-C stops)")
    p.add_argument("--interval", type=float, default=5.0, metavar="S",
                   help="seconds between polls with --watch (0.2..300, default 5)")
    p.add_argument("--trace-id", help="a trace id (1-64 of A-Z a-z 0-9 . _ -) for the events of every file; "
                   "by default each file starts its own trace, logged on import_file_done")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.filedrop import FileDrop, UnsafeFolder

    # Whatever this process creates (folders, reason files, the ledger and SQLite's side files) is
    # the operator's only: the drop folder is shared with the commune's export job.
    os.umask(0o077)
    try:
        drop = FileDrop(args.dir, args.system, settings, trace_id=args.trace_id)
    except ValueError as exc:
        print(f"hub import: --trace-id: {exc}", file=sys.stderr)
        return 2
    try:
        if args.watch:
            drop.watch(args.interval)
            return 0
        summary = drop.run_once()
        print(orjson.dumps({"summary": summary.as_dict()}).decode(), flush=True)
        return 1 if summary.files_waiting else 0
    except UnsafeFolder as exc:
        print(f"hub import: {exc}", file=sys.stderr)
        return 2
    finally:
        drop.close()
