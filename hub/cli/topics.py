"""``hub topics create|list``: the hub's topics with partitions from settings."""

from __future__ import annotations

import argparse

from hub import log
from hub.cli import security as security_cli
from hub.contract import topics
from hub.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("topics", help="create or list the hub's Kafka topics")
    tsub = p.add_subparsers(dest="action", required=True)
    c = tsub.add_parser("create", help="create missing topics (idempotent)")
    c.add_argument("--with-acls", action="store_true", help="secure mode, as the operator: then create the "
                   "worker and gateway principals and their ACLs (`hub security setup`)")
    security_cli.add_setup_arguments(c)
    c.set_defaults(func=create)
    ls = tsub.add_parser("list", help="list the topics the hub needs")
    ls.set_defaults(func=list_)


def create(args: argparse.Namespace, settings: Settings) -> int:
    result = topics.create(settings)
    logger = log.get()
    for name, state in sorted(result.items()):
        logger.info("topic_" + state, topic=name)
    if args.with_acls:
        return security_cli.setup(args, settings)
    return 0


def list_(args: argparse.Namespace, settings: Settings) -> int:
    for spec in topics.specs(settings):
        print(f"{spec.name}\tpartitions={spec.partitions}\t" + ",".join(f"{k}={v}" for k, v in spec.config.items()))
    return 0
