"""``hub schemas check``: the schema lock's evolution and house rules, without Kafka."""

from __future__ import annotations

import argparse

from hub.contract import registry
from hub.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schemas", help="verify the Avro schemas and their id lock")
    ssub = p.add_subparsers(dest="action", required=True)
    what = (f"check every subject of the id lock is {registry.COMPATIBILITY} compatible (each version reads "
            "data of every earlier one, and every earlier one reads its data: no subscriber breaks), ids are "
            "unique, versions contiguous, files parse, types are in "
            "namespace vn.gov.hub and every field has a doc; prints one line per problem and exits 1 on any")
    c = ssub.add_parser("check", help=what, description=what)
    c.add_argument("--dir", default=None, help="schemas folder (default: HUB_SCHEMAS_DIR)")
    c.set_defaults(func=check)


def check(args: argparse.Namespace, settings: Settings) -> int:
    folder = args.dir or settings.schemas_dir
    problems, counts = registry.check(folder)
    for line in problems:
        print(line)
    if problems:
        print(f"schemas check FAILED: {len(problems)} problem(s) in {folder}")
        return 1
    print(f"schemas OK: {counts['subjects']} subjects, {counts['versions']} versions, "
          f"{counts['pairs']} version pairs {registry.COMPATIBILITY} compatible, read both ways ({folder})")
    return 0
