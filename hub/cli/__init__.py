"""The ``hub`` command. Each sub-command lives in its own module with a ``register(sub)``.

The hub's own commands are listed below. Other packages add commands through the
``hub.commands`` entry-point group (name = command, value = ``module:register``): the connector
SDK registers ``publish``, ``import`` and ``simulate`` that way, so that ``connectors`` depends on
``hub`` and never the other way round.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import entry_points

from hub import log
from hub.errors import HubError
from hub.settings import Settings

# One line per command module of the hub itself; each defines register(subparsers).
COMMANDS = [
    "hub.cli.worker",
    "hub.cli.topics",
    "hub.cli.tail",
    "hub.cli.settings",
    "hub.cli.systems",
    "hub.cli.users",
    "hub.cli.security",
    "hub.cli.gateway",
    "hub.cli.schemas",
    "hub.cli.dlq",
    "hub.cli.status",
    "hub.cli.trace",
]
ENTRY_POINT_GROUP = "hub.commands"


def plugin_commands() -> list:
    """Entry points of the ``hub.commands`` group, by name (the installed packages' commands)."""
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="Commune Interconnection Hub: connects commune "
                                     "one-stop and document systems to their province over Apache Kafka.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    for ep in plugin_commands():
        if ep.name in sub.choices:
            continue  # the hub's own command wins over a plugin of the same name
        try:
            register = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take `hub worker` down with it
            print(f"hub: command {ep.name!r} ({ep.value}) is unavailable: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            continue
        register(sub)
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
