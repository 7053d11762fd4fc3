"""Realistic inputs shared by the benchmarks: DVCQG payloads and the canonical records they become."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson

from hub import reference
from hub.normalize import Context, Envelope, normalize
from hub.normalize.fields import VIETNAM
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


LIFECYCLE = ("2", "4", "9", "10")  # accepted, processing, processing finished, result returned
SPAN_MS = 14 * 86_400_000  # the events of a bench run spread over two weeks from BASE


def dvcqg_lifecycle(i: int, n: int, commune: str, *, salt: str = "") -> dict:
    """Event ``i`` of ``n``: dossiers of four events each (accepted -> processing -> finished ->
    returned, one in five stops at processing and stays open), received over two weeks from BASE,
    due five days after receipt, each event a few hours after the previous one — a province's live
    traffic rather than dossiers that all stay open forever."""
    j, step = divmod(i, len(LIFECYCLE))
    p = dvcqg(j, commune, salt=salt)
    received = BASE.timestamp() * 1000 + j * len(LIFECYCLE) * SPAN_MS // max(n, 1)
    stop = 1 if j % 5 == 0 else len(LIFECYCLE) - 1
    status = LIFECYCLE[min(step, stop)]
    at = received + min(step, stop) * 3 * 3_600_000 + (step - min(step, stop)) * 60_000

    def vn_text(ms: float) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")

    p.update(TrangThaiHoSo=status, NgayTiepNhan=vn_text(received), NgayHenTra=vn_text(received + 5 * 86_400_000),
             NgayCapNhat=vn_text(at))
    p.pop("NgayKetThucXuLy", None)
    p.pop("NgayTra", None)
    if status in ("9", "10"):
        p["NgayKetThucXuLy"] = vn_text(received + 2 * 3 * 3_600_000)
    if status == "10":
        p["NgayTra"] = vn_text(at)
    return p


def lifecycle_clock(n: int) -> str:
    """A HUB_CLOCK a week after the last event of :func:`dvcqg_lifecycle` (deterministic analytics)."""
    return datetime.fromtimestamp(BASE.timestamp() + (SPAN_MS + 7 * 86_400_000) / 1000, UTC).isoformat()


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
