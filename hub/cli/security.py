"""``hub security setup|grant|revoke|list``: Kafka principals (SCRAM users) and their ACLs, as the operator.

Passwords come from an environment variable named with ``--password-env`` or a file named with
``--password-file`` (compose secrets; never from the command line, which other users of the machine
can see); without either, a random password is generated and printed once on stdout, like ``hub
systems add`` prints a key. ``hub topics create --with-acls`` runs ``setup`` after creating topics.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hub import log, systems
from hub.admin import security
from hub.errors import ConfigError
from hub.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("security", help="Kafka principals and ACLs of a secure deployment (HUB_KAFKA_SECURITY=scram)",
                       description="Run as the operator (the broker's super user: HUB_KAFKA_USERNAME / "
                       "HUB_KAFKA_PASSWORD). Creates SCRAM-SHA-512 credentials through the Admin API and the "
                       "ACLs of each role; everything else is denied.")
    ssub = p.add_subparsers(dest="action", required=True)
    s = ssub.add_parser("setup", help="create (or update) the worker and gateway principals and their ACLs")
    add_setup_arguments(s)
    s.set_defaults(func=setup, quiet_logs=True)
    g = ssub.add_parser("grant", help="create (or update) a publisher's or a subscriber's principal and ACLs")
    g.add_argument("role", choices=(security.PUBLISHER, security.SUBSCRIBER))
    g.add_argument("name", help="publisher: its system id (registered with `hub systems add`); subscriber: a name")
    g.add_argument("--password-env", metavar="VAR", help="environment variable holding the password")
    g.add_argument("--password-file", metavar="PATH", help="file holding the password")
    g.set_defaults(func=grant, quiet_logs=True)
    r = ssub.add_parser("revoke", help="delete a principal's ACLs and SCRAM credential")
    r.add_argument("principal", help="the user name, e.g. pub.onestop-ialy")
    r.set_defaults(func=revoke, quiet_logs=True)
    ls = ssub.add_parser("list", help="every ACL, by principal")
    ls.set_defaults(func=list_, quiet_logs=True)


def add_setup_arguments(p: argparse.ArgumentParser) -> None:
    """Where ``setup`` takes the worker's and the gateway's passwords from."""
    for role in (security.WORKER, security.GATEWAY):
        p.add_argument(f"--{role}-password-env", metavar="VAR", help=f"environment variable holding the {role}'s "
                       "password")
        p.add_argument(f"--{role}-password-file", metavar="PATH", help=f"file holding the {role}'s password")


def _password(var: str | None, path: str | None) -> tuple[str, bool]:
    """(password, generated?) from the named environment variable or file, or a new random one."""
    if var and path:
        raise ConfigError("give a password's environment variable or its file, not both")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the password file {path}: {exc.strerror}") from exc
        if not value:
            raise ConfigError(f"password file {path} is empty")
        return value, False
    if not var:
        return security.new_password(), True
    value = os.environ.get(var, "")
    if not value:
        raise ConfigError(f"environment variable {var} is empty or not set")
    return value, False


def _apply(settings: Settings, plan: security.Plan, var: str | None, path: str | None = None) -> None:
    password, generated = _password(var, path)
    security.grant(settings, plan, password)
    log.get().info("principal_granted", principal=plan.principal, role=plan.role, acls=len(plan.rules))
    if generated:  # stdout only, once; logs go to stderr and never carry it
        print(f"{plan.principal}\t{password}")


def setup(args: argparse.Namespace, settings: Settings) -> int:
    _apply(settings, security.plan(settings, security.WORKER), args.worker_password_env, args.worker_password_file)
    _apply(settings, security.plan(settings, security.GATEWAY), args.gateway_password_env,
           args.gateway_password_file)
    if not (args.worker_password_env or args.worker_password_file) or not (
            args.gateway_password_env or args.gateway_password_file):
        print("Store generated passwords now: they cannot be shown again.", file=sys.stderr)
    return 0


def grant(args: argparse.Namespace, settings: Settings) -> int:
    if args.role == security.PUBLISHER:
        system = systems.read(settings).get(args.name)
        if system is None or not system.active or system.role != systems.PUBLISHER:
            raise ConfigError(f"{args.name!r} is not an active publishing system (run `hub systems add` first)")
    _apply(settings, security.plan(settings, args.role, args.name), args.password_env, args.password_file)
    return 0


def revoke(args: argparse.Namespace, settings: Settings) -> int:
    count = security.revoke(settings, args.principal)
    log.get().info("principal_revoked", principal=args.principal, acls=count)
    return 0


def list_(args: argparse.Namespace, settings: Settings) -> int:
    for who, rules in security.describe(settings).items():
        for rule in rules:
            print(f"{who}\t{rule}")
    return 0
