"""Directive reach end to end: an edXML directive to five communes through the gateway, their status
notifications through the gateway, the reach rows on feed.directive.v1 and in the read API — and the
commune that never accepts flagged by the worker's timer, with no further event."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from connectors.publisher import Publisher
from hub import systems
from hub.contract import codec, topics
from hub.gateway.server import ServerThread
from hub.testing import read_topic, wait_for
from tests.analytics.datasets import DIRECTIVE_ID, PROVINCE_ORGAN, RECIPIENTS, vn

pytestmark = pytest.mark.integration
EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
HOUR = 3_600_000
SUBJECT = "Về việc đẩy mạnh số hóa hồ sơ; đầu mối: [phone]"  # the <Subject> below, its phone scrubbed


def _organ(commune: str) -> str:
    return f"000.{commune[:2]}.{commune[2:]}.H41"


DIRECTIVE = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML}"><edXMLEnvelope><edXMLHeader><MessageHeader>
  <From><OrganId>{PROVINCE_ORGAN}</OrganId><OrganName>Ủy ban nhân dân tỉnh Gia Lai</OrganName></From>
  {"".join(f"<To><OrganId>{_organ(c)}</OrganId></To>" for c in RECIPIENTS)}
  <Code><CodeNumber>456</CodeNumber><CodeNotation>CT-UBND</CodeNotation></Code>
  <PromulgationInfo><Place>Gia Lai</Place><PromulgationDate>2025/08/29</PromulgationDate></PromulgationInfo>
  <DocumentType><Type>3</Type><TypeName>Chỉ thị</TypeName></DocumentType>
  <Subject>Về việc đẩy mạnh số hóa hồ sơ; đầu mối: 0905 123 456</Subject>
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
    # The statuses are 2025 history sent today: a tolerance of ten years lets their claimed times count
    # (back-dating is judged by test_a_back_dated_status_counts_at_its_receipt_time).
    before = make_settings(clock=_iso(vn("2025-09-03 12:00")),  # before the acceptance deadline
                           status_backdate_tolerance="87600h")
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
    # The subject (trích yếu, v4) travels as the document feed carries it: the phone number scrubbed.
    assert {c: r["subject"] for c, r in rows.items()} == dict.fromkeys(RECIPIENTS, SUBJECT)
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
    assert body["subject"] == SUBJECT
    assert by["23749"]["accepted_at"] == "2025-09-04T01:00:00.000Z"  # 08:00 Vietnam time


def _edxml_directive(document_id: str, sender: str, recipients: list[str], sent_ms: int) -> bytes:
    sent = datetime.fromtimestamp(sent_ms / 1000, UTC)
    return f"""<edXML xmlns="{EDXML}"><edXMLEnvelope><edXMLHeader><MessageHeader>
  <From><OrganId>{sender}</OrganId></From>{"".join(f"<To><OrganId>{_organ(c)}</OrganId></To>" for c in recipients)}
  <Code><CodeNumber>7</CodeNumber><CodeNotation>CT-UBND</CodeNotation></Code>
  <PromulgationInfo><PromulgationDate>{sent:%Y/%m/%d}</PromulgationDate></PromulgationInfo>
  <OtherInfo><Priority>0</Priority></OtherInfo><SteeringType>1</SteeringType><DocumentId>{document_id}</DocumentId>
</MessageHeader><TraceHeaderList><TraceHeader><OrganId>{sender}</OrganId><Timestamp>{sent.isoformat()}</Timestamp>
</TraceHeader></TraceHeaderList></edXMLHeader></edXMLEnvelope></edXML>""".encode()


def test_a_commune_cannot_issue_a_directive_nor_back_date_its_acceptance(make_settings, hub_process):
    """Issue 21 item 10 on a real broker. Ia Hrung's system sends a "province directive" to itself: 403
    organ_not_in_scope at the gateway, an organ_not_in_scope dead letter through the SDK, and no reach row.
    Ia Phí accepts the province's real directive claiming a time six days before the hub received it: the row
    counts the receipt time (acceptance overdue) and says late_report."""
    received = (int(time.time()) // 60 - 10) * 60_000  # the ingest time the SDK sets below, a literal
    sent = received - 6 * 24 * HOUR - HOUR
    s = make_settings(clock=_iso(received + HOUR), directive_sla_acceptance="4h")
    systems.add(s, "edoc-province", list(RECIPIENTS), ["document"], [PROVINCE_ORGAN])
    hrung_key = systems.add(s, "edoc-23767", ["23767"], ["document"], [_organ("23767")])
    systems.add(s, "edoc-23749", ["23749"], ["document"], [_organ("23749")])
    forged_id, real_id = f"{PROVINCE_ORGAN},forged,1/CT-UBND", f"{PROVINCE_ORGAN},real,7/CT-UBND"
    forged = _edxml_directive(forged_id, PROVINCE_ORGAN, ["23767"], sent)
    worker = hub_process(["worker"], s)

    with ServerThread(s) as gw:
        r = httpx.post(f"{gw.url}/v1/events/document", content=forged, timeout=60,
                       headers={"authorization": f"Bearer {hrung_key}", "content-type": "application/xml"})
    assert r.status_code == 403, r.text
    assert (r.json()["error"], r.json()["field"]) == ("organ_not_in_scope", "MessageHeader/From/OrganId")
    with Publisher("edoc-23767", s) as pub:
        pub.send("document", forged, format="edxml", trace_id="forged")
    with Publisher("edoc-province", s) as pub:
        pub.send("document", _edxml_directive(real_id, PROVINCE_ORGAN, ["23749"], sent), format="edxml")
    status = orjson.dumps({"message_type": "STATUS", "document_id": real_id, "status_code": "03",
                           "status_time": datetime.fromtimestamp((sent + HOUR) / 1000, UTC).isoformat(),
                           "from_organ_id": _organ("23749"), "to_organ_ids": [PROVINCE_ORGAN],
                           "commune_code": "23749"})
    with Publisher("edoc-23749", s) as pub:
        pub.send("document", status, format="hub-json", timestamp_ms=received)

    [dead] = read_topic(s, s.topic(topics.DLQ), expect=1, timeout_s=120)
    assert (dead.headers["hub.error.reason"], dead.headers["hub.trace_id"]) == ("organ_not_in_scope", "forged")
    assert dead.value == forged

    def accepted() -> dict | None:
        rows = {r.key.decode(): r for r in read_topic(s, s.topic(topics.FEED_DIRECTIVE), timeout_s=10)}
        row = rows.get(f"{real_id}|23749")
        return rows if row is not None and codec.decode_plain(codec.load(s.schemas_dir), row.value)[
            "accepted_at"] is not None else None

    rows = wait_for(accepted, timeout_s=120, interval_s=1, what="Ia Phí's reach row with its acceptance")
    assert sorted(rows) == [f"{real_id}|23749"], worker.output()[-2000:]  # nothing for the forged directive
    row = codec.decode_plain(codec.load(s.schemas_dir), rows[f"{real_id}|23749"].value)
    assert (row["accepted_at"], row["late_report"]) == (received, True)
    assert (row["acceptance_deadline"], row["acceptance_overdue"]) == (sent + 4 * HOUR, True)
