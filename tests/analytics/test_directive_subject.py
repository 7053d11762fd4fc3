"""hub.analytics.directives: the directive's subject (trích yếu, DirectiveReach v4, issue 23) as it travels on
feed.document.v1 — carried into every row, null when withheld, bounded, updated by a later UPDATE/REPLACE, and
null for states written before the subject was kept."""

from __future__ import annotations

from pathlib import Path

import orjson

from hub.analytics import directives as dr
from hub.analytics.config import AnalyticsConfig
from hub.contract import codec
from hub.settings import Settings

from .datasets import DIRECTIVE_ID, DIRECTIVE_NOW, DIRECTIVE_SENT, RECIPIENTS, directive, status, vn

CFG = AnalyticsConfig.from_settings(Settings.from_env(env={}))
SCHEMAS = Path(__file__).resolve().parents[2] / "hub" / "schemas"


def _fold(events: list[dict]) -> dict[str, dict]:
    states: dict[str, dict] = {}
    for e in events:
        for k in dr.route(e, CFG):
            states[k] = dr.merge(states.get(k), e, k)
    return states


def _row(events: list[dict], commune: str = "23734") -> dict:
    row = dr.row(_fold(events)[dr.key(DIRECTIVE_ID, commune)], DIRECTIVE_NOW, CFG)
    assert row is not None
    return row


def test_every_recipient_row_carries_the_subject_of_the_directive_document():
    events = [directive(c) for c in RECIPIENTS] + [status("23734", "ACCEPTED", "2025-09-03 09:00")]
    rows = [dr.row(s, DIRECTIVE_NOW, CFG) for s in _fold(events).values()]
    assert len(rows) == 5
    assert {r["subject"] for r in rows if r is not None} == {"Về việc đẩy mạnh số hóa hồ sơ"}


def test_a_withheld_subject_stays_null():
    withheld = {**directive("23734"), "subject": None, "subject_withheld": True}
    assert _row([withheld])["subject"] is None
    # Should a record ever say both, the flag wins: the text must not reach the directive feed.
    both = {**directive("23734"), "subject": "Đơn của ông Nguyễn Văn A", "subject_withheld": True}
    assert _row([both])["subject"] is None


def test_an_absent_subject_is_null_not_empty():
    assert _row([{**directive("23734"), "subject": ""}])["subject"] is None


def test_a_2000_character_subject_is_cut_to_512():
    row = _row([{**directive("23734"), "subject": "x" * 2000}])
    assert row["subject"] == "x" * 511 + "…"
    assert len(row["subject"]) == 512


def test_a_later_update_brings_its_subject_and_an_older_one_does_not():
    update = {**directive("23734"), "event_id": "upd", "business_doc_type": "UPDATE",
              "event_time": vn("2025-09-01 09:00"), "subject": "Về việc đẩy mạnh số hóa hồ sơ (sửa đổi)"}
    assert _row([directive("23734"), update])["subject"] == "Về việc đẩy mạnh số hóa hồ sơ (sửa đổi)"
    assert _row([update, directive("23734")])["subject"] == "Về việc đẩy mạnh số hóa hồ sơ (sửa đổi)"
    older = {**update, "event_id": "old", "business_doc_type": "REPLACE", "event_time": DIRECTIVE_SENT - 60_000,
             "subject": "Bản cũ"}
    assert _row([directive("23734"), older])["subject"] == "Về việc đẩy mạnh số hóa hồ sơ"
    # a revocation keeps the subject: it is the same directive, withdrawn
    revoke = {**directive("23734"), "event_id": "rev", "business_doc_type": "REVOKE", "steering_type": None,
              "event_time": vn("2025-09-02 09:00"), "subject": "Thu hồi"}
    assert _row([directive("23734"), revoke])["subject"] == "Về việc đẩy mạnh số hóa hồ sơ"


# A state as the v3 processor stored it (no "subj" in the directive part), as raw store bytes.
OLD_STATE = orjson.dumps({
    "doc": DIRECTIVE_ID, "c": "23734", "p": "52",
    "d": {"tag": [DIRECTIVE_SENT, "ev-old"], "sent": DIRECTIVE_SENT, "prom": vn("2025-08-29 00:00"),
          "prio": "NORMAL", "due": vn("2025-09-15 00:00"), "code": "456/CT-UBND", "issuer": "000.00.00.H41",
          "steer": "DIRECTIVE", "trace": "tr-old"},
    "rev": None, "st": {}, "last": None, "hint": None, "reply": None, "flag": [], "tr": [DIRECTIVE_SENT, "tr-old"],
})


def test_a_state_stored_before_the_subject_was_kept_restores_with_a_null_subject():
    old = orjson.loads(OLD_STATE)
    row = dr.row(old, DIRECTIVE_NOW, CFG)
    assert row is not None and row["subject"] is None and row["code_notation"] == "456/CT-UBND"
    later = dr.merge(old, status("23734", "ACCEPTED", "2025-09-03 09:00"), dr.key(DIRECTIVE_ID, "23734"))
    after = dr.row(later, DIRECTIVE_NOW, CFG)
    assert after is not None and after["subject"] is None and after["accepted_at"] == vn("2025-09-03 09:00")
    writer = codec.Schemas(SCHEMAS).latest("feed.directive.v1-value")
    assert codec.decode_plain(codec.Schemas(SCHEMAS), codec.encode(writer, dr.to_avro(after)))["subject"] is None


def test_the_subject_is_written_on_the_v4_record():
    schemas = codec.Schemas(SCHEMAS)
    writer = schemas.latest("feed.directive.v1-value")
    assert writer.version == 4
    record = dr.to_avro(_row([directive("23734")]))
    assert codec.decode_plain(schemas, codec.encode(writer, record))["subject"] == "Về việc đẩy mạnh số hóa hồ sơ"
