"""The targets read API on a real broker, worker and gateway: the hand-built dataset's rows and province
roll-up (tests/analytics/targets_reference.md) at three "today" dates, a Vietnamese spreadsheet report
dropped in a folder, the same rows as the Kafka feed, reader-only access and JSON 400s."""

from __future__ import annotations

from fractions import Fraction as F

import httpx
import pytest

from hub import systems
from hub.contract import codec, topics
from hub.gateway.server import ServerThread
from hub.testing import read_topic, wait_for
from tests.analytics import target_datasets as d
from tests.gateway import targets_scenario
from tests.gateway.read_scenario import _iso
from tests.pipeline.test_targets import CSV_HEADER, OCTOBER, PROCESSORS, _import, _publish, _wait_rows

pytestmark = pytest.mark.integration

ROW_FIELDS = ("target_value", "actual_value", "actual_as_of", "completion_rate", "expected_share", "expected_value",
              "gap", "gap_value", "days_since_report", "status", "flags", "evaluated_for", "final")
NAMES = {d.A: "Xã Ia Ly", d.B: "Xã Ia Khươl", d.C: "Xã Chư Păh"}


def _get(sc, path: str, key: str | None = "reader", **params) -> httpx.Response:
    token = {"reader": sc.reader_key, "publisher": sc.publisher_key}.get(key, key)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{sc.url}{path}", params=params, headers=headers, timeout=30)


def _by_key(body: dict) -> dict[str, dict]:
    return {r["progress_key"]: {f: r[f] for f in ROW_FIELDS} for r in body["targets"]}


@pytest.mark.parametrize("today", ["T1", "T2", "T3"])
def test_commune_targets_equal_the_reference(kafka_bootstrap, tmp_path, today):
    """GET /v1/targets/communes/{code}?year=2025 for the three communes equals targets_reference.md at that
    today (HUB_CLOCK in worker and gateway): every row's target, actual, share, rate, gap, status and flags."""
    with targets_scenario.province(kafka_bootstrap, tmp_path, today) as sc:
        expected = d.expected_rows(today)
        got: dict[str, dict] = {}
        for commune in d.COMMUNES:
            r = _get(sc, f"/v1/targets/communes/{commune}", year="2025")
            assert r.status_code == 200, r.text
            body = r.json()
            assert (body["commune_code"], body["commune_name"], body["province_code"], body["year"]) == (
                commune, NAMES[commune], "52", 2025)
            assert [t["indicator_code"] for t in body["targets"]] == ["HO_THOAT_NGHEO", "VON_SN", "TIEU_CHI",
                                                                     "VON_DTPT"]  # by program, then indicator
            got.update(_by_key(body))
        assert got == expected
        if today == "T2":
            _check_province_t2(sc)


def _check_province_t2(sc) -> None:
    """The roll-up of targets_reference.md "Province at T2", the attention order, the default year, and every
    row as the Kafka feed holds it."""
    r = _get(sc, "/v1/targets/province", year="2025")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["province_code"], body["year"], body["program"], body["unassigned"]) == ("52", 2025, None, [])
    got = {(g["program"], g["indicator_code"]): g for g in body["indicators"]}
    assert sorted(got) == sorted(d.ROLLUP_T2)
    for k, want in d.ROLLUP_T2.items():
        g = got[k]
        assert (g["total_target"], g["total_actual"], g["completion_rate"], g["total_expected"], g["gap"],
                g["gap_value"]) == (float(want["total_target"]), float(want["total_actual"]),
                                    float(want["completion"]), float(want["total_expected"]), float(want["gap"]),
                                    float(want["gap_value"])), k
        assert g["statuses"] == want["statuses"], k
        assert [c["commune_code"] for c in g["ranking"]] == want["ranking"], k
        assert g["communes"] == 3
    # behind first (23728's criteria 158/365, then its VON_SN 37/184), then no_report by gap: 23722's two linear
    # indicators at 304/365 (GNBV before NTM), its VON_DTPT 94/115, its VON_SN 737/920, 23728's VON_DTPT 73/230
    head = [(a["commune_code"], a["indicator_code"], a["status"]) for a in body["attention"][:7]]
    assert head == [(d.B, "TIEU_CHI", "behind"), (d.B, "VON_SN", "behind"),
                    (d.C, "HO_THOAT_NGHEO", "no_report"), (d.C, "TIEU_CHI", "no_report"),
                    (d.C, "VON_DTPT", "no_report"), (d.C, "VON_SN", "no_report"), (d.B, "VON_DTPT", "no_report")]
    assert body["attention"][0]["gap"] == float(F(158, 365)) and body["attention"][0]["commune_name"] == NAMES[d.B]
    assert {a["status"] for a in body["attention"][7:]} == {"on_track"} and len(body["attention"]) == 12
    gnbv = _get(sc, "/v1/targets/province", year="2025", program="gnbv").json()
    assert gnbv["program"] == "GNBV" and [g["indicator_code"] for g in gnbv["indicators"]] == ["HO_THOAT_NGHEO",
                                                                                               "VON_SN"]
    assert len(gnbv["attention"]) == 6 and gnbv["attention"][0]["indicator_code"] == "VON_SN"  # 23728, behind
    assert _get(sc, "/v1/targets/province").json() == body  # the hub's clock says 2025-10-31: year 2025
    schemas = codec.load(sc.settings.schemas_dir)
    feed = {m.key.decode(): codec.decode_plain(schemas, m.value)
            for m in read_topic(sc.settings, sc.settings.topic(topics.FEED_TARGET_PROGRESS), timeout_s=30)}
    api = _get(sc, f"/v1/targets/communes/{d.B}", year="2025").json()["targets"]
    for row in api:
        rec = feed[row["progress_key"]]
        assert {f: row[f] for f in ROW_FIELDS if f != "status"} == {f: rec[f] for f in ROW_FIELDS if f != "status"}
        assert row["status"] == rec["status"].lower() and row["trace_ids"] == rec["trace_ids"]
        assert row["milestones"] == rec["milestones"]


def test_vietnamese_spreadsheet_report_through_the_file_drop_shows_in_the_read_api(make_settings, hub_process,
                                                                                     tmp_path):
    """A BOM, ';'-separated sheet with Vietnamese headers and 2.000.000.000 amounts, dropped in a folder
    (`hub import`), gives Ia Ly's reference rows at T2 in GET /v1/targets/communes/23734."""
    s = make_settings(clock=_iso(d.TODAY["T2"]))
    systems.add(s, d.PROVINCE_SYSTEM, [d.A], ["target"])
    publisher = systems.add(s, "baocao-ialy", [d.A], ["target"])
    reader = systems.add(s, "province-office", role="reader")
    _publish(s, [e for e in d.ASSIGNMENTS if e["commune_code"] == d.A])
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "bao-cao-thang-10.csv").write_bytes(b"\xef\xbb\xbf" + (CSV_HEADER + OCTOBER).encode())
    assert _import(s, folder, "baocao-ialy")["events"] == 4
    want = {k: v for k, v in d.expected_rows("T2").items() if k.startswith(d.A)}
    _wait_rows(s, want, hub_process(PROCESSORS, s))
    with targets_scenario.serve(s, reader, publisher) as sc:
        body = _get(sc, f"/v1/targets/communes/{d.A}", year="2025").json()
        assert _by_key(body) == want
        assert body["statuses"] == {"on_track": 4, "behind": 0, "no_report": 0, "done": 0, "unassigned": 0}
        von = next(t for t in body["targets"] if t["indicator_code"] == "VON_DTPT")
        assert (von["actual_value"], von["actual_as_of"], von["unit"]) == (2_000_000_000.0, "2025-10-25", "VND")


@pytest.fixture
def empty_gateway(make_settings):
    """A gateway with a reader and a publisher key, its read model caught up with the (empty) feeds."""
    s = make_settings(clock=_iso(d.TODAY["T2"]))
    reader = systems.add(s, "office", role="reader")
    publisher = systems.add(s, "baocao-ialy", [d.A], ["target"])
    with ServerThread(s) as srv:
        wait_for(lambda: srv.app.state.read_model.snapshot.caught_up, timeout_s=60, what="read model caught up")
        yield targets_scenario.Scenario(s, srv.url, reader, publisher, srv)


def test_only_reader_keys_may_read_targets(empty_gateway):
    """A reader key reads (a commune without targets: 200, no rows); a publisher key is 403 role_not_allowed;
    no key or an unknown key is 401."""
    sc = empty_gateway
    for path in (f"/v1/targets/communes/{d.A}", "/v1/targets/province"):
        ok = _get(sc, path, year="2025")
        assert ok.status_code == 200, ok.text
        refused = _get(sc, path, key="publisher", year="2025")
        assert refused.status_code == 403 and refused.json()["error"] == "role_not_allowed"
        for key in (None, "hubk_" + "A" * 43):
            r = _get(sc, path, key=key)
            assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    empty = _get(sc, f"/v1/targets/communes/{d.A}", year="2025").json()
    assert (empty["targets"], empty["statuses"]["behind"], empty["commune_name"]) == ([], 0, "Xã Ia Ly")
    assert _get(sc, "/v1/targets/province").json()["indicators"] == []


@pytest.mark.parametrize(("path", "params", "field", "message"), [
    (f"/v1/targets/communes/{d.A}", {"year": "25"}, "year", "year must be a year from 2000 to 2100"),
    (f"/v1/targets/communes/{d.A}", {"year": "năm"}, "year", "year must be a year from 2000 to 2100"),
    ("/v1/targets/province", {"year": "1999"}, "year", "year must be a year from 2000 to 2100"),
    ("/v1/targets/province", {"year": "2025", "program": "NTM|X"}, "program",
     "program must be NTM, GNBV, DTTS or a province program code (52, 52-DTC)"),
])
def test_bad_target_parameters_are_400_with_a_json_body(empty_gateway, path, params, field, message):
    """A year or program that cannot be read is 400 bad_parameter naming the parameter and its rule."""
    r = _get(empty_gateway, path, **params)
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")
    assert r.json() == {"error": "bad_parameter", "message": message, "stage": "parse", "field": field}


@pytest.mark.parametrize("code", ["99999", "00004", "abc"])
def test_targets_of_a_commune_outside_the_province_are_404(empty_gateway, code):
    """Unknown codes and communes of another province (00004 is in Hà Nội) are 404 not_found."""
    r = _get(empty_gateway, f"/v1/targets/communes/{code}", year="2025")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
