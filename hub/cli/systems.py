"""``hub systems add|list|revoke``: onboard publishing and reading systems (keys shown once, stored hashed)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import orjson

from hub import systems
from hub.admin import security
from hub.kafka import config as kafka_config
from hub.settings import Settings


def _csv(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("systems", help="onboard, list and revoke publishing and reading systems")
    ssub = p.add_subparsers(dest="action", required=True)
    a = ssub.add_parser("add", help="register a system (or re-register it with a new key); prints the key once "
                        "and returns once the record is acknowledged on hub.systems.v1")
    a.add_argument("--id", required=True, help="system id, [a-z0-9._-]{1,64}, e.g. ialy-motcua")
    a.add_argument("--role", choices=systems.ROLES, default=systems.PUBLISHER,
                   help="publisher (default: posts events for its communes) or reader (reads the province's "
                        "KPIs, directives, freshness and targets; no communes or kinds)")
    a.add_argument("--communes", type=_csv, default=[], help="publishers: commune codes, comma separated, "
                   "e.g. 23734")
    a.add_argument("--kinds", type=_csv, default=[], help="publishers: dossier, document, target, comma "
                   "separated (e.g. dossier,document)")
    a.add_argument("--organ-id", action="append", default=[], dest="organ_ids", metavar="ORGAN_ID",
                   help="electronic organization id its documents carry (repeatable), e.g. 000.00.12.H41")
    # The commune's focal contact, shown on the dashboard next to the commune: an office, never a citizen.
    a.add_argument("--contact-name", help="publishers: the commune's focal contact, an office or an officer's "
                   "title (at most 120 characters), e.g. \"Văn phòng HĐND-UBND xã\"")
    a.add_argument("--contact-phone", help="the office's phone: digits, spaces and + ( ) . - (at most 20), "
                   "e.g. \"0269 3845 123\"")
    a.add_argument("--contact-email", help="the office's e-mail (at most 120 characters), "
                   "e.g. vanphong@ialy.gialai.gov.vn")
    a.set_defaults(func=add, quiet_logs=True)
    ls = ssub.add_parser("list", help="list registered systems (never their keys)")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.set_defaults(func=list_, quiet_logs=True)
    r = ssub.add_parser("revoke", help="revoke a system's key (its history stays on hub.systems.v1) and, in secure "
                        "mode, delete its Kafka login pub.<id> (ACLs and SCRAM credential)")
    r.add_argument("--id", required=True)
    r.set_defaults(func=revoke, quiet_logs=True)


def add(args: argparse.Namespace, settings: Settings) -> int:
    contact = systems.Contact.of(args.contact_name, args.contact_phone, args.contact_email)  # before any I/O
    current = systems.read(settings)
    key = systems.add(settings, args.id, args.communes, args.kinds, args.organ_ids, role=args.role, current=current,
                      contact=contact)
    # The key goes to stdout only (logs go to stderr for this command) and is never logged.
    if args.role == systems.READER:
        print(f"reader {args.id} registered", file=sys.stderr)
    else:
        print(f"system {args.id} registered for communes {','.join(sorted(set(args.communes)))} "
              f"and kinds {','.join(sorted(set(args.kinds)))}", file=sys.stderr)
    print(key)
    print("Store this key now: it cannot be shown again (only its hash is kept).", file=sys.stderr)
    if args.role == systems.PUBLISHER and kafka_config.secure(settings):
        # The key and the Kafka password are two secrets: a new key leaves the SCRAM password as it was.
        again = current.get(args.id) is not None
        print(f"Its Kafka login {security.principal(settings, security.PUBLISHER, args.id)} "
              f"{'keeps its old password: rotate it too' if again else 'is not created by this: create it'} with "
              f"`hub security grant publisher {args.id} --password-file PATH` (or without options for a "
              "generated one).", file=sys.stderr)
    return 0


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ms else "-"


def list_(args: argparse.Namespace, settings: Settings) -> int:
    listed = systems.read(settings).list()
    if args.json:
        for s in listed:
            print(orjson.dumps(s.public()).decode())
        return 0
    rows = [("ID", "ROLE", "STATE", "COMMUNES", "KINDS", "ORGAN IDS", "CREATED", "REVOKED", "CONTACT")]
    for s in listed:
        contact = " / ".join(s.contact.to_dict().values()) if s.contact else "-"
        rows.append((s.id, s.role, "active" if s.active else "revoked", ",".join(sorted(s.communes)) or "-",
                     ",".join(sorted(s.kinds)) or "-", ",".join(sorted(s.organ_ids)) or "-", _when(s.created_at),
                     _when(s.revoked_at), contact))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def revoke(args: argparse.Namespace, settings: Settings) -> int:
    current = systems.read(settings)
    systems.revoke(settings, args.id, current=current)
    system = current.get(args.id)
    assert system is not None  # revoke raised if there is no such system
    publisher = system.role == systems.PUBLISHER
    gone = " and its Kafka login deleted" if publisher and kafka_config.secure(settings) else ""
    print(f"system {args.id} revoked{gone}", file=sys.stderr)
    return 0
