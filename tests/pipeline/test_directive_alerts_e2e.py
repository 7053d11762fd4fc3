"""Issue 22, defect 7 on a real broker: a directive back-filled after its deadlines, then its communes' statuses.
The worker reads the directive before the statuses that follow it: Ia Ly met every deadline and raises no alert;
Ia Phí never completed and raises one (completion), marked arrived_overdue, once the grace has passed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import orjson
import pytest

from connectors.publisher import Publisher
from hub import systems
from hub.contract import codec, topics
from hub.testing import read_topic, wait_for
from tests.analytics.datasets import PROVINCE_ORGAN, vn

pytestmark = pytest.mark.integration
EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DOC_ID = f"{PROVINCE_ORGAN},2025/08/29,789/CT-UBND"
COMMUNES = ("23734", "23749")  # Ia Ly meets every deadline; Ia Phí never completes


def _organ(commune: str) -> str:
    return f"000.{commune[:2]}.{commune[2:]}.H41"


# Sent Friday 2025-08-29 15:00 (Vietnam), NORMAL: arrival by 16:00, acceptance by Wed 09-03 15:00 (Mon and Tue
# are holidays), completion by the end of the due day 09-15.
DIRECTIVE = f"""<edXML xmlns="{EDXML}"><edXMLEnvelope><edXMLHeader><MessageHeader>
  <From><OrganId>{PROVINCE_ORGAN}</OrganId></From>
  {"".join(f"<To><OrganId>{_organ(c)}</OrganId></To>" for c in COMMUNES)}
  <Code><CodeNumber>789</CodeNumber><CodeNotation>CT-UBND</CodeNotation></Code>
  <PromulgationInfo><PromulgationDate>2025/08/29</PromulgationDate></PromulgationInfo>
  <DueDate>2025/09/15</DueDate><OtherInfo><Priority>0</Priority></OtherInfo><SteeringType>1</SteeringType>
  <DocumentId>{DOC_ID}</DocumentId>
</MessageHeader><TraceHeaderList><TraceHeader><OrganId>{PROVINCE_ORGAN}</OrganId>
  <Timestamp>2025-08-29T15:00:00+07:00</Timestamp></TraceHeader></TraceHeaderList></edXMLHeader></edXMLEnvelope>
</edXML>""".encode()
STATUSES = {"23734": [("01", "2025-08-29T15:05:00+07:00"), ("03", "2025-09-03T09:00:00+07:00"),
                      ("06", "2025-09-10T16:00:00+07:00")],
            "23749": [("01", "2025-08-29T15:40:00+07:00"), ("03", "2025-09-02T10:00:00+07:00")]}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _rows(s) -> dict[str, dict]:
    schemas = codec.load(s.schemas_dir)
    return {r.key.decode().rpartition("|")[2]: codec.decode_plain(schemas, r.value)
            for r in read_topic(s, s.topic(topics.FEED_DIRECTIVE), timeout_s=20)}


def _alerts(proc) -> list[tuple]:
    lines = [orjson.loads(x) for x in proc.output().splitlines() if '"directive_overdue"' in x]
    return [(x["commune_code"], x["milestone"], x.get("arrived_overdue")) for x in lines]


def test_a_back_filled_directive_alerts_only_the_deadline_really_missed(make_settings, hub_process):
    # The hub's clock is fixed three weeks after every deadline: the directive is a back-fill. The statuses are
    # 2025 history sent today: a ten-year tolerance lets their claimed times count (not what is judged here).
    first = make_settings(clock=_iso(vn("2025-09-20 10:00")), status_backdate_tolerance="87600h")
    systems.add(first, "edoc-province", list(COMMUNES), ["document"], [PROVINCE_ORGAN])
    for c in COMMUNES:
        systems.add(first, f"edoc-{c}", [c], ["document"], [_organ(c)])
    worker = hub_process(["worker"], first, name="worker-first")
    with Publisher("edoc-province", first) as pub:
        pub.send("document", DIRECTIVE, format="edxml")
    # The directive is read (its rows written) before any status is even published: the statuses below are
    # exactly the ones "on their way" when the directive was judged.
    wait_for(lambda: len(_rows(first)) == 2, timeout_s=120, interval_s=1, what="the directive's two rows")
    for c, chain in STATUSES.items():
        with Publisher(f"edoc-{c}", first) as pub:
            for code, at in chain:
                pub.send("document", orjson.dumps({
                    "message_type": "STATUS", "document_id": DOC_ID, "status_code": code, "status_time": at,
                    "from_organ_id": _organ(c), "to_organ_ids": [PROVINCE_ORGAN], "commune_code": c}),
                    format="hub-json")

    def statuses_read() -> dict | None:
        rows = _rows(first)
        return rows if rows["23734"]["completed_at"] is not None and rows["23749"]["accepted_at"] is not None \
            else None

    rows = wait_for(statuses_read, timeout_s=120, interval_s=1, what="both communes' statuses in their rows")
    assert _alerts(worker) == []  # read at 10:00 by a clock that stands still: the grace has not passed
    assert {c: (r["arrived_overdue"], r["overdue"]) for c, r in rows.items()} == {
        "23734": (True, False), "23749": (True, True)}
    assert (rows["23749"]["completion_overdue"], rows["23749"]["acceptance_overdue"]) == (True, False)
    worker.stop()
    assert _alerts(worker) == []

    # An hour later (grace 5 minutes): the restarted worker's timer raises the one missed deadline, once.
    later = dataclasses.replace(first, clock=_iso(vn("2025-09-20 11:00")))
    again = hub_process(["worker"], later, name="worker-later")
    alerts = wait_for(lambda: _alerts(again), timeout_s=120, interval_s=1, what="the completion alert")
    assert alerts == [("23749", "completion", True)]
