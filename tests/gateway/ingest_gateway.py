"""A gateway on the real broker with four registered systems, for the ingest tests (fixture ``gateway``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from hub.contract import topics
from hub.gateway.server import ServerThread
from hub.settings import Settings
from hub.testing import read_topic

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DOSSIER = {
    "MaHoSo": "G22.52.23734-250801-0001",
    "MaTTHC": "1.001612",
    "TrangThaiHoSo": "2",
    "KenhThucHien": "2",
    "NgayTiepNhan": "20250801083000",
    "NgayHenTra": "20250805170000",
    "MaXa": "23734",
}


@dataclass
class Gateway:
    server: ServerThread
    settings: Settings
    keys: dict[str, str]

    def post(
        self,
        kind: str,
        body=None,
        *,
        system: str | None = "ialy",
        content: bytes | None = None,
        content_type: str = "application/json",
        headers: dict | None = None,
    ) -> httpx.Response:
        hdrs = {"content-type": content_type, **(headers or {})}
        if system:
            hdrs["authorization"] = f"Bearer {self.keys[system]}"
        data = content if content is not None else orjson.dumps(body)
        return httpx.post(f"{self.server.url}/v1/events/{kind}", content=data, headers=hdrs, timeout=60)

    def ingest(self, kind: str = "dossier", expect: int | None = None):
        topic = self.settings.topic(topics.INGEST_BY_KIND[kind])
        return read_topic(self.settings, topic, expect=expect, timeout_s=30, idle_s=1.0)
