"""``hub gateway``: the HTTP ingest gateway, registry API, health and metrics (uvicorn)."""

from __future__ import annotations

import argparse

from hub.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gateway", help="run the HTTP ingest gateway (default 127.0.0.1:8080 from settings)")
    p.add_argument("--host", default=None, help="listen address (default HUB_GATEWAY_HOST)")
    p.add_argument("--port", type=int, default=None, help="listen port (default HUB_GATEWAY_PORT)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from hub.gateway import server

    server.run(settings, host=args.host, port=args.port)
    return 0
