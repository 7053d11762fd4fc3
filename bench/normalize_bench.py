"""``normalize``: raw bytes to validated canonical records, per dialect, with the fixture inputs.

Baseline in the same process: the bare parse of the same bytes (``orjson.loads`` for JSON,
``defusedxml`` for XML, ``csv.reader`` for CSV). The ratio is a cost factor: how many times a
bare parse the whole mapping (parse, map, validate, pseudonymize, stamp) takes.
"""

from __future__ import annotations

import csv
import io

import defusedxml.ElementTree as safe_et
import orjson

from bench.measure import COST, Row, Stat, rate
from hub.normalize import Context, Envelope, normalize
from tests.fixtures.load import Case, cases, organs

DIALECTS = ("dvcqg-json", "edxml", "edoc-go", "hub-json", "csv")
INGEST_MS = 1_764_600_000_000


def _context() -> Context:
    # The deployment the fixtures assume (as tests/normalize/support.py builds it).
    return Context(province="52", pseudonym_key=b"bench-pseudonym-key", organs=organs())


def _bare_parse(fmt: str, raw: bytes) -> None:
    if fmt in ("edxml", "edoc-go"):
        safe_et.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    elif fmt == "csv":
        list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    else:
        orjson.loads(raw)


def _accepted(fmt: str) -> list[Case]:
    return [c for c in cases() if c.format == fmt and c.reject is None]


def run(*, quick: bool, runs: int) -> list[Row]:
    ctx = _context()
    min_time = 0.2 if quick else 1.0
    rows = []
    for fmt in DIALECTS:
        chosen = _accepted(fmt)
        if not chosen:
            continue
        inputs = [(c.raw, Envelope(kind=c.kind, format=c.format, source_system="bench-system",
                                   trace_id="bench-trace", ingest_time_ms=INGEST_MS,
                                   commune_hint=c.commune_hint)) for c in chosen]
        # Events are canonical records out (a CSV file or a DVCQG array holds several), so both
        # sides count the same number per pass.
        per_pass = sum(len(normalize(raw, env, ctx)) for raw, env in inputs)

        def hub_pass(inputs=inputs, per_pass=per_pass) -> int:
            for raw, env in inputs:
                normalize(raw, env, ctx)
            return per_pass

        def parse_pass(inputs=inputs, per_pass=per_pass, fmt=fmt) -> int:
            for raw, _env in inputs:
                _bare_parse(fmt, raw)
            return per_pass

        hub = Stat("events/s", rate(hub_pass, runs=runs, min_time_s=min_time))
        base = Stat("events/s", rate(parse_pass, runs=runs, min_time_s=min_time))
        extra = {"fixtures": [c.name for c in chosen], "events_per_pass": per_pass,
                 "bytes_per_pass": sum(len(raw) for raw, _ in inputs)}
        parser = {"edxml": "defusedxml", "edoc-go": "defusedxml", "csv": "csv.reader"}.get(fmt, "orjson.loads")
        rows.append(Row("normalize", fmt, hub, f"bare {parser}", base, COST, extra))
    return rows
