"""Issue 22, defect 6 at the gateway: a dossier whose own times are ahead of the request (beyond
HUB_MAX_FUTURE_SKEW) or before 2000 is 422 with a JSON body naming the field, and nothing reaches Kafka;
a far due date is accepted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.gateway.ingest_gateway import DOSSIER

VIETNAM = timedelta(hours=7)


def _dvcqg(at: datetime) -> str:
    """A DVCQG yyyyMMddHHmmss (Vietnam time) of an aware instant."""
    return (at.astimezone(UTC) + VIETNAM).strftime("%Y%m%d%H%M%S")


def test_a_dossier_from_the_future_is_422_and_nothing_is_written(gateway):
    gw = gateway()
    # Relative to the request (the gateway's receipt time is its clock): a day ahead, whatever the year.
    tomorrow = datetime.fromtimestamp(time.time(), UTC) + timedelta(days=1)
    r = gw.post("dossier", {**DOSSIER, "NgayTiepNhan": _dvcqg(tomorrow), "NgayHenTra": _dvcqg(tomorrow)},
                headers={"X-Trace-Id": "t-future"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert (body["error"], body["field"], body["stage"], body["trace_id"]) == (
        "event_in_future", "received_at", "validate", "t-future")
    assert "HUB_MAX_FUTURE_SKEW" in body["message"]
    old = gw.post("dossier", [DOSSIER, {**DOSSIER, "NgayTiepNhan": "19991231235959"}])
    assert old.status_code == 422, old.text
    assert (old.json()["error"], old.json()["field"], old.json()["index"]) == ("implausible_time", "received_at", 1)
    assert gw.ingest() == []
    # A due date two years ahead is a deadline, not an event time: accepted.
    later = gw.post("dossier", {**DOSSIER, "NgayHenTra": _dvcqg(tomorrow + timedelta(days=730))})
    assert later.status_code == 202, later.text
    assert len(gw.ingest(expect=1)) == 1
