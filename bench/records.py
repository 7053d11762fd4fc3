"""Realistic inputs shared by the benchmarks: DVCQG payloads and the canonical records they become."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson

from hub import reference
from hub.normalize import Context, Envelope, normalize
from tests.pipeline import payloads

BASE = datetime(2025, 11, 20, 1, 0, tzinfo=UTC)
INGEST_MS = 1_764_600_000_000


def communes(province: str = "52", count: int = 12) -> list[str]:
    """A stable handful of the province's commune codes, so keys spread over partitions as in production."""
    codes = sorted(c.code for c in reference.province_communes(province))
    return codes[:: max(1, len(codes) // count)][:count]


def dvcqg(i: int, commune: str, *, salt: str = "") -> dict:
    """DVCQG dossier ``i`` of ``commune`` (Vietnamese names, UTC+7 dates); ``salt`` makes codes unique."""
    p = payloads.dossier(i, rng=random.Random(i), base=BASE)
    p["MaHoSo"] = f"G52.{commune}-{salt}{i:07d}"
    p["MaXa"] = commune
    return p


def dvcqg_bytes(i: int, commune: str, *, salt: str = "") -> bytes:
    return orjson.dumps(dvcqg(i, commune, salt=salt))


def canonical_dossiers(n: int, province: str = "52") -> list[dict]:
    """``n`` canonical DossierEvent records, exactly as the pipeline builds them before encoding."""
    ctx = Context(province=province, pseudonym_key=b"bench-pseudonym-key")
    codes = communes(province)
    out: list[dict] = []
    for i in range(n):
        env = Envelope(kind="dossier", format="dvcqg-json", source_system="bench-onestop",
                       trace_id=f"bench-{i}", ingest_time_ms=INGEST_MS + i)
        out.extend(normalize(dvcqg_bytes(i, codes[i % len(codes)]), env, ctx))
    return out
