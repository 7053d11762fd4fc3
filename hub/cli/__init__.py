"""The ``hub`` command. Each sub-command lives in its own module with a ``register(sub)``."""

from __future__ import annotations

import argparse
import importlib
import sys

from hub import log
from hub.errors import HubError
from hub.settings import Settings

# One line per command module; each defines register(subparsers).
COMMANDS = [
    "hub.cli.worker",
    "hub.cli.topics",
    "hub.cli.tail",
    "hub.cli.publish",
    "hub.cli.import_",
    "hub.cli.simulate",
    "hub.cli.settings",
    "hub.cli.systems",
    "hub.cli.gateway",
    "hub.cli.schemas",
    "hub.cli.dlq",
    "hub.cli.status",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="Commune Interconnection Hub: connects commune "
                                     "one-stop and document systems to their province over Apache Kafka.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        log.configure(settings.log_level, stream=sys.stderr if getattr(args, "quiet_logs", False) else None)
        return int(args.func(args, settings) or 0)
    except HubError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
