"""``hub users add|list|disable|reset``: people's dashboard accounts (passwords from standard input only)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import orjson

from hub.admin import users
from hub.errors import ConfigError
from hub.settings import Settings

_STDIN = ("read the password from standard input (its first line); required: a password in the command line "
          "would stay in the shell history and the process list")


def register(sub: argparse._SubParsersAction) -> None:
    # allow_abbrev=False: a mistaken `--password SECRET` must not be read as `--password-stdin`.
    p = sub.add_parser("users", help="people's dashboard accounts: add, list, disable, reset the password")
    usub = p.add_subparsers(dest="action", required=True)
    a = usub.add_parser("add", allow_abbrev=False, help="create an account (argon2id hash on hub.users.v1)")
    a.add_argument("--name", required=True, help="login name, [a-z0-9._-]{1,64}, e.g. nguyen.van.an")
    a.add_argument("--role", required=True, choices=users.ROLES,
                   help="province (every page) or commune (the province ranking and its own commune page)")
    a.add_argument("--commune", help="a commune account's commune code, e.g. 23734")
    a.add_argument("--password-stdin", action="store_true", required=True, help=_STDIN)
    a.set_defaults(func=add, quiet_logs=True)
    ls = usub.add_parser("list", help="list the accounts (never their hashes)")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.set_defaults(func=list_, quiet_logs=True)
    d = usub.add_parser("disable", help="disable an account: its open sessions are refused at the next request")
    d.add_argument("--name", required=True)
    d.set_defaults(func=disable, quiet_logs=True)
    r = usub.add_parser("reset", allow_abbrev=False,
                        help="set a new password (ends the account's sessions) and enable the account")
    r.add_argument("--name", required=True)
    r.add_argument("--password-stdin", action="store_true", required=True, help=_STDIN)
    r.set_defaults(func=reset, quiet_logs=True)


def _password() -> str:
    line = sys.stdin.readline()
    if not line:
        raise ConfigError("no password on standard input")
    return line.rstrip("\r\n")


def add(args: argparse.Namespace, settings: Settings) -> int:
    user = users.add(settings, args.name, args.role, args.commune, _password())
    where = f" of commune {user.commune}" if user.commune else ""
    print(f"account {user.name} ({user.role}{where}) added", file=sys.stderr)
    return 0


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ms else "-"


def list_(args: argparse.Namespace, settings: Settings) -> int:
    listed = users.read(settings).list()
    if args.json:
        for u in listed:
            print(orjson.dumps(u.public()).decode())
        return 0
    rows = [("NAME", "ROLE", "COMMUNE", "STATE", "CREATED", "PASSWORD SET", "DISABLED")]
    for u in listed:
        rows.append((u.name, u.role, u.commune or "-", "active" if u.active else "disabled", _when(u.created_at),
                     _when(u.changed_at), _when(u.disabled_at)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def disable(args: argparse.Namespace, settings: Settings) -> int:
    users.disable(settings, args.name)
    print(f"account {args.name} disabled", file=sys.stderr)
    return 0


def reset(args: argparse.Namespace, settings: Settings) -> int:
    users.reset(settings, args.name, _password())
    print(f"account {args.name}: new password set, account enabled", file=sys.stderr)
    return 0
