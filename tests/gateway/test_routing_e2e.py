"""Gateway + worker on a real broker: systems onboarded after both started, directives fan out to every
recipient commune, and a commune's report to the province is that commune's OUTGOING document."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from hub import systems
from hub.contract import codec, topics
from hub.gateway.server import ServerThread
from hub.testing import read_topic, wait_for

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "edxml"
COMMUNES = ["23734", "23728", "23722", "23749", "23767"]  # Ia Ly, Ia Khươl, Chư Păh, Ia Phí, Ia Hrung


def organ(code: str) -> str:
    """The fixtures' OrganId scheme for a commune (tests/fixtures/organs.json)."""
    return f"000.{code[:2]}.{code[2:]}.H41"


def directive_to(communes: list[str]) -> bytes:
    """The province's directive fixture, addressed to ``communes`` (and nobody else)."""
    raw = (FIXTURES / "directive_province_to_communes.xml").read_text(encoding="utf-8")
    to = "".join(f"<edXML:To><edXML:OrganId>{organ(c)}</edXML:OrganId><edXML:OrganName>UBND xã {c}"
                 "</edXML:OrganName></edXML:To>" for c in communes)
    raw, n = re.subn(r"(\s*<edXML:To>.*?</edXML:To>)+", to, raw, count=1, flags=re.S)
    assert n == 1
    return raw.encode()


def test_directive_reaches_every_commune_and_report_is_outgoing(make_settings, hub_process):
    """A province directive to 5 communes via the gateway -> exactly 5 INCOMING feed records, one per commune;
    Ia Phí's report to the province via the gateway -> one OUTGOING record for Ia Phí. Every system and
    OrganId is onboarded after the worker and the gateway started."""
    s = make_settings()
    worker = hub_process(["worker"], s)
    wait_for(lambda: "worker_starting" in worker.output(), timeout_s=120, what="worker started")
    with ServerThread(s) as srv:
        province_key = systems.add(s, "province-vanban", COMMUNES, ["document"], ["000.00.00.H41"])
        keys = {c: systems.add(s, f"vanban-{c}", [c], ["document"], [organ(c)]) for c in COMMUNES}

        def post(key: str, raw: bytes) -> httpx.Response:
            return httpx.post(f"{srv.url}/v1/events/document", content=raw, timeout=60,
                              headers={"authorization": f"Bearer {key}", "content-type": "application/xml"})

        directive = post(province_key, directive_to(COMMUNES))
        assert directive.status_code == 202, directive.text
        accepted = directive.json()["accepted"]
        assert sorted(a["commune_code"] for a in accepted) == sorted(COMMUNES)
        assert {a["index"] for a in accepted} == {0} and len({a["event_id"] for a in accepted}) == 5
        report = post(keys["23749"], (FIXTURES / "outgoing_report_from_commune.xml").read_bytes())
        assert report.status_code == 202, report.text
        assert [a["commune_code"] for a in report.json()["accepted"]] == ["23749"]

    ingest = read_topic(s, s.topic(topics.INGEST_DOCUMENT), expect=2, timeout_s=30, idle_s=1)
    by_source = {r.headers["hub.source"]: r for r in ingest}
    assert by_source["province-vanban"].key == b"province-vanban"  # several communes: keyed by system
    assert by_source["vanban-23749"].key == b"23749"
    assert all("hub.commune" not in r.headers for r in ingest)  # nobody sent X-Hub-Commune

    feed = read_topic(s, s.topic(topics.FEED_DOCUMENT), expect=6, timeout_s=180)
    schemas = codec.load(s.schemas_dir)
    records = [codec.decode(schemas, r.value) for r in feed]
    assert len(records) == 6, worker.output()[-3000:]
    incoming = [r for r in records if r["source_system"] == "province-vanban"]
    assert sorted(r["commune_code"] for r in incoming) == sorted(COMMUNES)
    assert {r["direction"] for r in incoming} == {"INCOMING"}
    assert {r["event_id"] for r in incoming} == {a["event_id"] for a in accepted}
    [outgoing] = [r for r in records if r["source_system"] == "vanban-23749"]
    assert (outgoing["commune_code"], outgoing["direction"]) == ("23749", "OUTGOING")
    assert read_topic(s, s.topic(topics.DLQ)) == []
