"""Prints what the hot path makes of every fixture and of generated dossiers, one JSON line each.

Run by tests/test_native.py twice — compiled, and with ``HUB_PURE_PYTHON=1`` — whose outputs must
be identical. The first line says which modules ran.
"""

from __future__ import annotations

import orjson

from bench.records import communes, dvcqg_lifecycle
from hub import _native
from hub.contract import codec
from hub.contract import headers as h
from hub.normalize import Context
from hub.processors.process import Source, process
from hub.settings import ROOT
from tests.fixtures.load import cases, organs
from tests.pipeline.payloads import MALFORMED

INGEST_MS = 1_769_904_000_000  # 2026-02-01T00:00:00Z: after every fixture's own times (tests/normalize/support.py)


def inputs() -> list[tuple[str, str, bytes, str | None]]:
    """(kind, format, bytes, commune header) of every fixture, the malformed payloads and 400 dossiers."""
    out = [(c.kind, c.format, c.raw, c.commune_hint) for c in cases()]
    out += [("dossier", "dvcqg-json", raw, None) for raw, _reason in MALFORMED]
    codes = communes("52")
    out += [("dossier", "dvcqg-json", orjson.dumps(dvcqg_lifecycle(i, 400, codes[i // 4 % len(codes)])),
             codes[i // 4 % len(codes)]) for i in range(400)]
    return out


def main() -> None:
    schemas = codec.load(ROOT / "hub" / "schemas")
    ctx = Context(province="52", pseudonym_key=b"native-test-key", organs=organs())
    print(orjson.dumps({"compiled": _native.in_use()}).decode())
    for offset, (kind, fmt, raw, commune) in enumerate(inputs()):
        hdrs = {h.SOURCE: "native-test", h.FORMAT: fmt, h.TRACE_ID: f"trace-{offset}"}
        if commune:
            hdrs[h.COMMUNE] = commune
        out = process(kind, raw, hdrs, Source("ingest.test", 0, offset, INGEST_MS), ctx, schemas)
        rej = out.rejected
        print(orjson.dumps({
            "records": [[r.key.hex(), r.value.hex(), [[k, v.hex()] for k, v in r.headers], r.event_id,
                         r.commune_code] for r in out.records],
            "rejected": None if rej is None else [rej.reason, rej.stage, rej.field, rej.message],
            "exception_class": out.exception_class,
        }).decode())


if __name__ == "__main__":
    main()
