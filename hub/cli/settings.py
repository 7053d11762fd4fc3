"""``hub settings``: print every HUB_* variable, its default and meaning (secrets hidden)."""

from __future__ import annotations

import argparse

from hub.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("settings", help="list HUB_* settings with defaults and current values")
    p.add_argument("--markdown", action="store_true", help="print the README table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.markdown:
        print("| variable | default | meaning |\n|---|---|---|")
        for var, default, doc in Settings.describe():
            print(f"| `{var}` | `{default}` | {doc} |")
        return 0
    for var, _default, doc in Settings.describe():
        value = getattr(settings, var[4:].lower())
        shown = "(set)" if var in Settings.secret_names() and value else value
        print(f"{var}={shown}    # {doc}")
    return 0
