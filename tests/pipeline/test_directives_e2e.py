"""Directive reach end to end: an edXML directive to five communes through the gateway, their status
notifications through the gateway, the reach rows on feed.directive.v1 and in the read API — and the
commune that never accepts flagged by the worker's timer, with no further event."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from hub import codec, systems, topics
from hub.gateway.server import ServerThread
from hub.testing import read_topic, wait_for
from tests.analytics.datasets import DIRECTIVE_ID, PROVINCE_ORGAN, RECIPIENTS, vn

pytestmark = pytest.mark.integration
EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def _organ(commune: str) -> str:
    return f"000.{commune[:2]}.{commune[2:]}.H41"


DIRECTIVE = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML}"><edXMLEnvelope><edXMLHeader><MessageHeader>
  <From><OrganId>{PROVINCE_ORGAN}</OrganId><OrganName>Ủy ban nhân dân tỉnh Gia Lai</OrganName></From>
  {"".join(f"<To><OrganId>{_organ(c)}</OrganId></To>" for c in RECIPIENTS)}
  <Code><CodeNumber>456</CodeNumber><CodeNotation>CT-UBND</CodeNotation></Code>
  <PromulgationInfo><Place>Gia Lai</Place><PromulgationDate>2025/08/29</PromulgationDate></PromulgationInfo>
  <DocumentType><Type>3</Type><TypeName>Chỉ thị</TypeName></DocumentType>
  <Subject>Về việc đẩy mạnh số hóa hồ sơ</Subject>
  <DueDate>2025/09/15</DueDate>
  <OtherInfo><Priority>0</Priority></OtherInfo>
  <SteeringType>1</SteeringType>
  <DocumentId>{DIRECTIVE_ID}</DocumentId>
</MessageHeader><TraceHeaderList>
  <TraceHeader><OrganId>{PROVINCE_ORGAN}</OrganId><Timestamp>2025-08-29T15:00:00+07:00</Timestamp></TraceHeader>
  <Bussiness><BussinessDocType>0</BussinessDocType></Bussiness>
</TraceHeaderList></edXMLHeader></edXMLEnvelope></edXML>""".encode()

# (commune, status code, Vietnam time): 23734, 23728, 23722 accept before the deadline
# (Wed 2025-09-03 15:00: one working day after Friday's 15:00, Mon and Tue being holidays),
# 23749 accepts after it, 23767 reports arrival and then nothing.
STATUSES = [("23734", "01", "2025-08-29 15:05"), ("23734", "03", "2025-09-03 09:00"),
            ("23728", "01", "2025-08-29 15:20"), ("23728", "03", "2025-08-29 16:30"),
            ("23722", "01", "2025-08-29 15:02"), ("23722", "03", "2025-09-03 14:59"),
            ("23749", "01", "2025-08-29 15:40"), ("23749", "03", "2025-09-04 08:00"),
            ("23767", "01", "2025-08-29 15:10")]


def _status(commune: str, code: str, at: str) -> bytes:
    t = datetime.strptime(at, "%Y-%m-%d %H:%M").strftime("%Y%m%d%H%M%S")
    return orjson.dumps({"message_type": "STATUS", "document_id": DIRECTIVE_ID, "status_code": code,
                         "status_time": t, "from_organ_id": _organ(commune), "to_organ_ids": [PROVINCE_ORGAN],
                         "code_number": "456", "code_notation": "CT-UBND", "promulgation_date": "20250829000000",
                         "commune_code": commune})


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _rows(s) -> dict[str, dict]:
    schemas = codec.load(s.schemas_dir)
    return {r.key.decode().rpartition("|")[2]: codec.decode_plain(schemas, r.value)
            for r in read_topic(s, s.topic(topics.FEED_DIRECTIVE), timeout_s=20)}


def test_directive_through_the_gateway_and_the_timer_flags_the_silent_commune(make_settings, hub_process):
    """3 communes accept in time, 1 late, 1 never; the never-accepting one is flagged once its SLA passes."""
    before = make_settings(clock=_iso(vn("2025-09-03 12:00")))  # before the acceptance deadline
    province_key = systems.add(before, "edoc-province", list(RECIPIENTS), ["document"], [PROVINCE_ORGAN])
    keys = {c: systems.add(before, f"edoc-{c}", [c], ["document"], [_organ(c)]) for c in RECIPIENTS}
    worker = hub_process(["worker"], before, name="worker-before")
    with ServerThread(before) as gw, httpx.Client(base_url=gw.url, timeout=60) as client:
        sent = client.post("/v1/events/document", content=DIRECTIVE,
                           headers={"authorization": f"Bearer {province_key}", "content-type": "application/xml"})
        assert sent.status_code == 202, sent.text
        assert sorted(r["commune_code"] for r in sent.json()["accepted"]) == sorted(RECIPIENTS)
        for commune, code, at in STATUSES:
            r = client.post("/v1/events/document", content=_status(commune, code, at),
                            headers={"authorization": f"Bearer {keys[commune]}",
                                     "content-type": "application/json"})
            assert r.status_code == 202, r.text

    def reached() -> dict | None:
        rows = _rows(before)
        done = len(rows) == 5 and rows["23749"]["accepted_at"] is not None
        return rows if done else None

    rows = wait_for(reached, timeout_s=120, interval_s=1, what="five reach rows")
    deadline = vn("2025-09-03 15:00")
    for commune in ("23734", "23728", "23722"):
        assert rows[commune]["acceptance_overdue"] is False and rows[commune]["accepted_at"] <= deadline
        assert rows[commune]["acceptance_deadline"] == deadline
    assert rows["23749"]["acceptance_overdue"] is True and rows["23749"]["accepted_at"] == vn("2025-09-04 08:00")
    assert rows["23767"]["accepted_at"] is None and rows["23767"]["acceptance_overdue"] is False  # not yet due
    assert rows["23767"]["arrived_at"] == vn("2025-08-29 15:10")
    worker.stop()

    # Two days later, no further event: the restarted worker's timer flags 23767, once.
    after = dataclasses.replace(before, clock=_iso(vn("2025-09-05 12:00")))
    later = hub_process(["worker"], after, name="worker-after")
    flagged = wait_for(lambda: (r := _rows(after)) and r["23767"]["acceptance_overdue"] and r, timeout_s=120,
                       interval_s=1, what="the silent commune flagged")
    assert flagged["23767"]["accepted_at"] is None and flagged["23767"]["overdue"] is True
    assert {c: flagged[c]["acceptance_overdue"] for c in RECIPIENTS} == {
        "23734": False, "23728": False, "23722": False, "23749": True, "23767": True}
    lines = [orjson.loads(line) for line in later.output().splitlines() if '"directive_overdue"' in line]
    assert [(x["commune_code"], x["milestone"]) for x in lines] == [("23767", "acceptance")]

    # The read API answers the same, from the same feed.
    reader_key = systems.add(after, "province-office", role="reader")
    with ServerThread(after) as gw, httpx.Client(base_url=gw.url, timeout=60) as client:
        wait_for(lambda: client.get("/readyz").status_code == 200, timeout_s=60, what="read model caught up")
        body = wait_for(lambda: (r := client.get(f"/v1/directives/{DIRECTIVE_ID}",
                                                 headers={"authorization": f"Bearer {reader_key}"})).status_code
                        == 200 and r.json(), timeout_s=60, what="the directive in the read API")
    by = {r["commune_code"]: r for r in body["recipients"]}
    assert {c: by[c]["acceptance_overdue"] for c in RECIPIENTS} == {
        "23734": False, "23728": False, "23722": False, "23749": True, "23767": True}
    assert body["not_accepted_communes"] == ["23767"]
    assert by["23749"]["accepted_at"] == "2025-09-04T01:00:00.000Z"  # 08:00 Vietnam time
