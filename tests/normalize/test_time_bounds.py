"""Issue 22, defect 6: an event whose own time is ahead of the hub's receipt (beyond HUB_MAX_FUTURE_SKEW) or
implausibly old is refused with a reason code naming the field; due dates may lie ahead. Receipt is the
envelope's ingest time (the ingest record's timestamp), never the wall clock: these tests use literal times."""

from __future__ import annotations

import orjson
import pytest

from hub.errors import ConfigError, Rejected
from hub.normalize import Envelope, normalize
from hub.settings import Settings

from .support import context

RECEIVED = 1_764_576_000_000  # 2025-12-01T08:00:00Z = 15:00 Vietnam time
SKEW = 600_000  # the default, 10 minutes


def _env(kind: str, ingest_ms: int = RECEIVED) -> Envelope:
    return Envelope(kind=kind, format="hub-json", source_system="test-system", trace_id="trace-1",
                    ingest_time_ms=ingest_ms, commune_hint="23734")


def _status(status_time: str) -> bytes:
    return orjson.dumps({"message_type": "STATUS", "document_id": "000.00.00.H41,2025/11/27,1234/UBND-KGVX",
                         "from_organ_id": "000.23.734.H41", "to_organ_ids": ["000.00.00.H41"],
                         "status_code": "03", "status_time": status_time})


def _dossier(**times: str) -> bytes:
    return orjson.dumps({"dossier_code": "000.23.734.H41-251201-0001", "procedure_code": "1.001612",
                         "status": "ACCEPTED", **times})


def _refused(raw: bytes, kind: str, **ctx) -> Rejected:
    with pytest.raises(Rejected) as err:
        normalize(raw, _env(kind), context(**ctx))
    return err.value


def test_a_status_dated_2062_is_refused_naming_its_field():
    err = _refused(_status("2062-01-01T00:00:00Z"), "document")
    assert (err.reason, err.field, err.http_status) == ("event_in_future", "status_time", 422)
    assert "2062-01-01T00:00:00Z" in err.message and "2025-12-01T08:00:00Z" in err.message


def test_the_skew_is_inclusive_to_the_millisecond():
    """10 minutes after receipt passes (a clock a little fast), one millisecond more does not."""
    [rec] = normalize(_status("2025-12-01T08:10:00.000Z"), _env("document"), context())
    assert rec["status_time"] == RECEIVED + SKEW and rec["event_time"] == RECEIVED + SKEW
    assert _refused(_status("2025-12-01T08:10:00.001Z"), "document").reason == "event_in_future"
    # the setting, through the context: 1 minute
    assert _refused(_status("2025-12-01T08:01:00.001Z"), "document",
                    max_future_skew_ms=60_000).reason == "event_in_future"


def test_receipt_is_the_ingest_time_not_the_wall_clock():
    """A 2025 status replayed with its 2025 ingest time passes; the same bytes received a day earlier do not."""
    raw = _status("2025-12-01T14:59:00+07:00")
    assert normalize(raw, _env("document"), context())[0]["status_time"] == RECEIVED - 60_000
    with pytest.raises(Rejected) as err:
        normalize(raw, _env("document", RECEIVED - 86_400_000), context())
    assert (err.value.reason, err.value.field) == ("event_in_future", "status_time")


def test_a_due_date_may_lie_ahead_but_a_reception_may_not():
    [rec] = normalize(_dossier(received_at="2025-12-01T14:00:00+07:00", due_at="2027-06-30T17:00:00+07:00"),
                      _env("dossier"), context())
    assert rec["due_at"] == 1_814_349_600_000  # 2027-06-30T10:00:00Z: eighteen months ahead is a deadline
    err = _refused(_dossier(received_at="2025-12-02T09:00:00+07:00"), "dossier")
    assert (err.reason, err.field) == ("event_in_future", "received_at")
    err = _refused(_dossier(received_at="2025-12-01T14:00:00+07:00", finished_at="2025-12-03T09:00:00+07:00"),
                   "dossier")
    assert (err.reason, err.field) == ("event_in_future", "finished_at")
    err = _refused(_dossier(received_at="2025-12-01T14:00:00+07:00",
                            event_time="2025-12-01T16:00:00+07:00"), "dossier")
    assert (err.reason, err.field) == ("event_in_future", "event_time")


@pytest.mark.parametrize(("times", "field"), [
    ({"received_at": "1990-01-01T07:00:00+07:00"}, "received_at"),
    ({"received_at": "1999-12-31T23:59:59Z"}, "received_at"),
    ({"received_at": "2025-12-01T14:00:00+07:00", "due_at": "1995-06-30T17:00:00+07:00"}, "due_at"),
    ({"received_at": "2025-12-01T14:00:00+07:00", "event_time": "1999-06-01T00:00:00Z"}, "event_time"),
])
def test_implausibly_old_times_are_refused(times, field):
    err = _refused(_dossier(**times), "dossier")
    assert (err.reason, err.field, err.http_status) == ("implausible_time", field, 422)


def test_the_first_instant_of_2000_is_plausible():
    [rec] = normalize(_dossier(received_at="2000-01-01T00:00:00Z", event_time="2025-12-01T14:00:00+07:00"),
                      _env("dossier"), context())
    assert rec["received_at"] == 946_684_800_000


def test_a_target_report_as_of_a_later_day_is_refused():
    """as_of is a Vietnam calendar day: the day of receipt passes, the next one does not."""
    report = {"record_type": "PROGRESS_REPORTED", "year": 2025, "program": "NTM", "indicator_code": "VON_DTPT",
              "unit": "VND", "actual_value": 1000, "event_time": "2025-12-01T14:00:00+07:00"}
    [rec] = normalize(orjson.dumps({**report, "as_of": "2025-12-01"}), _env("target"), context())
    assert rec["as_of"] == "2025-12-01"
    err = _refused(orjson.dumps({**report, "as_of": "2025-12-02"}), "target")
    assert (err.reason, err.field) == ("event_in_future", "as_of")
    err = _refused(orjson.dumps({**report, "as_of": "2025-12-01", "event_time": "2025-12-01T16:00:00+07:00"}),
                   "target")
    assert (err.reason, err.field) == ("event_in_future", "event_time")


def test_the_skew_is_a_setting_in_seconds_minutes_or_hours():
    assert Settings.from_env(env={}).max_future_skew_ms() == 600_000
    assert Settings.from_env(env={"HUB_MAX_FUTURE_SKEW": "30s"}).max_future_skew_ms() == 30_000
    assert Settings.from_env(env={"HUB_MAX_FUTURE_SKEW": " 2h "}).max_future_skew_ms() == 7_200_000
    for bad in ("", "10", "-5m", "1.5h", "1d", "m", "١٠m"):
        with pytest.raises(ConfigError, match="HUB_MAX_FUTURE_SKEW"):
            Settings.from_env(env={"HUB_MAX_FUTURE_SKEW": bad}).max_future_skew_ms()
