"""``python -m bench [--quick] [--only NAME] [--runs N] [--events N]`` — see docs/benchmarks.md."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bench.measure import Row, table
from hub import log
from hub.settings import ROOT, Settings

# name -> (module, default runs); the broker-bound ones repeat fewer times (each run is a full scenario).
BENCHES = {
    "codec": ("bench.codec_bench", 5),
    "normalize": ("bench.normalize_bench", 5),
    "kpi": ("bench.kpi_bench", 5),
    "pipeline": ("bench.pipeline_bench", 5),
    "gateway": ("bench.gateway_bench", 5),
    "memory": ("bench.memory_bench", 1),  # one long run: 1,000,000 events
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description="Benchmarks of the hub: medians over "
                                "repeated runs, each with a same-run ratio against a baseline.")
    p.add_argument("--quick", action="store_true", help="smaller inputs and fewer runs (a smoke run)")
    p.add_argument("--only", action="append", choices=sorted(BENCHES), metavar="NAME",
                   help=f"run only this benchmark (repeatable): {', '.join(BENCHES)}")
    p.add_argument("--runs", type=int, default=None, help="repetitions per benchmark (default 5, --quick 3)")
    p.add_argument("--events", type=int, default=None,
                   help="pipeline: events pre-loaded per run (default 20000, --quick 2000)")
    p.add_argument("--out", type=Path, default=ROOT / "var" / "bench", help="folder of the JSON results")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    # The hub's JSON log lines (gateway requests, registry writes) go to a file: stdout is the table.
    log_path = args.out / f"{stamp}.log"
    log_file = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run
    log.configure(Settings.from_env().log_level, stream=log_file)
    rows: list[Row] = []
    timings: dict[str, float] = {}
    failed: dict[str, str] = {}
    for name in args.only or list(BENCHES):
        module, default_runs = BENCHES[name]
        runs = args.runs or (3 if args.quick else default_runs)
        print(f"bench: {name} ({runs} runs{', quick' if args.quick else ''}) ...", file=sys.stderr, flush=True)
        kwargs = {"events": args.events} if name in ("pipeline", "memory") and args.events else {}
        started = time.monotonic()
        try:
            got = importlib.import_module(module).run(quick=args.quick, runs=runs, **kwargs)
        except Exception as exc:  # one failed benchmark must not lose the others' numbers
            failed[name] = f"{type(exc).__name__}: {exc}"
            print(f"bench: {name} failed: {failed[name]}", file=sys.stderr)
            continue
        finally:
            timings[name] = round(time.monotonic() - started, 1)
        rows.extend(got)
    log_file.close()
    result = {
        "started": stamp, "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "seconds": timings, "failed": failed, "results": [r.to_json() for r in rows],
    }
    json_path = args.out / f"{stamp}.json"
    json_path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(table(rows))
    print(f"\nresults: {json_path}   logs: {log_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
