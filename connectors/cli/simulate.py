"""``hub simulate``: drive realistic province traffic through the real ingest paths."""

from __future__ import annotations

import argparse

import orjson

from hub.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate a province's commune systems publishing to the hub",
                       description="Onboard simulated one-stop and document systems (sim-*), then "
                       "publish dossier lifecycles, document exchanges, directives with their receipts, the "
                       "year's targets with monthly progress reports and a share of bad data at a steady rate. "
                       "Prints a JSON summary on stdout (logs go to stderr) with the feed and dead-letter record "
                       "counts the pipeline should produce.")
    p.add_argument("--province", default=None, help="province code (default: HUB_PROVINCE)")
    p.add_argument("--communes", type=int, default=5, metavar="N",
                   help="simulate the first N communes (by code)")
    p.add_argument("--rate", type=float, default=50.0, metavar="R", help="events per second (default 50)")
    p.add_argument("--duration", type=float, default=10.0, metavar="D", help="seconds to run (default 10)")
    p.add_argument("--bad-ratio", type=float, default=0.02, metavar="X",
                   help="share of events that must be dead-lettered (default 0.02)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed: the same seed replays the same content")
    p.add_argument("--gateway", default=None, metavar="URL",
                   help="also post part of the traffic to this HTTP gateway, e.g. http://127.0.0.1:8080")
    p.add_argument("--gateway-share", type=float, default=0.3, metavar="F",
                   help="share of eligible events sent through the gateway (default 0.3)")
    p.add_argument("--outbox", default=None, metavar="PATH",
                   help="outbox file (default: simulator-outbox.sqlite3 next to HUB_OUTBOX_PATH)")
    p.add_argument("--no-register", action="store_true", help="skip onboarding (systems already registered)")
    p.set_defaults(func=run, quiet_logs=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.simulator import SimConfig, Simulator

    cfg = SimConfig(province=args.province or settings.province, communes=args.communes, rate=args.rate,
                    duration_s=args.duration, bad_ratio=args.bad_ratio, seed=args.seed, gateway=args.gateway,
                    gateway_share=args.gateway_share, outbox_path=args.outbox)
    sim = Simulator(settings, cfg)
    if not args.no_register:
        sim.register()
    summary = sim.run()
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode(), flush=True)
    return 0 if summary["forwarded"] else 1
