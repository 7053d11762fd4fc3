"""The read API on a real broker, worker and gateway: the reference dataset's hand-computed numbers, the
same rows as the Kafka feeds, reader-only access and JSON 400s for bad parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest

from hub.admin import status
from hub.contract import topics
from tests.analytics.datasets import COMMUNE, DIRECTIVE_ID, PERIODS, RECIPIENTS
from tests.analytics.test_kpi import EXPECTED
from tests.gateway import read_scenario
from tests.pipeline.test_analytics import AVRO_NAME

pytestmark = pytest.mark.integration

GIA_LAI_COMMUNES = 135  # DESIGN §1: Gia Lai (52) has 135 communes and wards


@pytest.fixture(scope="module")
def scenario(kafka_bootstrap, tmp_path_factory):
    """The reference datasets through one worker and one gateway, shared by this module's tests."""
    with read_scenario.province(kafka_bootstrap, tmp_path_factory.mktemp("read-api")) as sc:
        yield sc


def _get(sc, path: str, key: str | None = "reader", **params) -> httpx.Response:
    token = {"reader": sc.reader_key, "publisher": sc.publisher_key}.get(key, key)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{sc.url}{path}", params=params, headers=headers, timeout=30)


@pytest.mark.parametrize("kind", ["day", "month", "quarter"])
def test_commune_kpi_equals_the_reference(scenario, kind):
    """GET /v1/kpi/communes/23734 for the reference day, month and quarter equals reference.md exactly."""
    r = _get(scenario, f"/v1/kpi/communes/{COMMUNE}", period=kind, at=PERIODS[kind])
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in EXPECTED[kind]} == EXPECTED[kind]
    assert (body["commune_code"], body["commune_name"], body["period"], body["at"], body["data"]) == (
        COMMUNE, "Xã Ia Ly", kind, PERIODS[kind], True)


def test_the_api_and_the_kafka_feed_give_the_same_row(scenario):
    """Every field of the month row and of each directive recipient equals the latest record on its feed."""
    feed = read_scenario.latest(scenario.settings, topics.FEED_KPI)[f"{COMMUNE}|month|2025-11"]
    api = _get(scenario, f"/v1/kpi/communes/{COMMUNE}", period="month", at="2025-11").json()
    assert {k: api[k] for k in AVRO_NAME} == {k: feed[v] for k, v in AVRO_NAME.items()}
    # 2025-11-01 00:00 Vietnam time is 2025-10-31 17:00 UTC; computed_at is the frozen NOW, 2025-12-10 05:00 UTC
    assert (api["period_start"], api["period_end"], api["computed_at"], api["evaluated_at"]) == (
        "2025-10-31T17:00:00.000Z", "2025-11-30T17:00:00.000Z", "2025-12-10T05:00:00.000Z",
        "2025-11-30T17:00:00.000Z")
    assert feed["computed_at"] == 1765342800000 and feed["period_start"] == 1761930000000
    reach = read_scenario.latest(scenario.settings, topics.FEED_DIRECTIVE)
    directive = _get(scenario, f"/v1/directives/{DIRECTIVE_ID}").json()
    for rec in directive["recipients"]:
        row = reach[f"{DIRECTIVE_ID}|{rec['commune_code']}"]
        for name in ("acceptance_latency_ms", "reply_latency_ms", "acceptance_overdue", "completion_overdue",
                     "arrival_overdue", "overdue", "last_status", "reply_document_id", "trace_id"):
            assert rec[name] == row[name], name
        assert rec["accepted_at"] == (None if row["accepted_at"] is None else _utc(row["accepted_at"]))


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def test_at_defaults_to_the_current_period(scenario):
    """Without `at` the current period by the hub's clock (frozen at 2025-12-10) is answered."""
    month = _get(scenario, f"/v1/kpi/communes/{COMMUNE}").json()
    assert (month["period"], month["at"], month["final"], month["data"]) == ("month", "2025-12", False, True)
    # December, judged at 12-10 12:00: D4 (paused in time), D7 (due 12-15), D12 (no due date) in time;
    # D8, D11, D13 overdue -> 3 / 6
    assert (month["in_scope"], month["on_time"], month["overdue_open"], month["timeliness"]) == (6, 3, 3, 0.5)
    quarter = _get(scenario, f"/v1/kpi/communes/{COMMUNE}", period="quarter").json()
    assert quarter["at"] == "2025-Q4" and quarter["in_scope"] == EXPECTED["quarter"]["in_scope"]


def test_a_commune_without_data_is_answered_with_zeros(scenario):
    """Ia Khươl (23728) sent no dossier: 200, zero counts, null rates and data false."""
    r = _get(scenario, "/v1/kpi/communes/23728", period="month", at="2025-11")
    assert r.status_code == 200
    body = r.json()
    assert (body["data"], body["in_scope"], body["received"], body["timeliness"], body["online_rate"]) == (
        False, 0, 0, None, None)
    assert (body["trace_ids"], body["computed_at"], body["final"], body["period_key"]) == (
        [], None, True, "23728|month|2025-11")


@pytest.mark.parametrize("code", ["99999", "00004", "abc"])
def test_a_commune_outside_the_province_is_404(scenario, code):
    """Unknown codes and communes of another province (00004 is in Hà Nội) are 404 not_found."""
    r = _get(scenario, f"/v1/kpi/communes/{code}")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found" and "province 52" in r.json()["message"]


def test_province_ranks_every_commune_by_timeliness(scenario):
    """Every commune of Gia Lai is listed; Ia Ly, the only one with data, comes first."""
    body = _get(scenario, "/v1/kpi/province", period="month", at="2025-11").json()
    communes = body["communes"]
    assert (body["province_code"], body["period"], body["at"], body["communes_with_data"]) == ("52", "month",
                                                                                             "2025-11", 1)
    assert len(communes) == GIA_LAI_COMMUNES and len({c["commune_code"] for c in communes}) == GIA_LAI_COMMUNES
    assert communes[0]["commune_code"] == COMMUNE and communes[0]["timeliness"] == 6 / 11
    assert all(c["data"] is False and c["timeliness"] is None for c in communes[1:])


def test_directive_reach_per_recipient(scenario):
    """The directive: three communes accepted in time, 23749 late, 23767 never (flagged with no further event)."""
    raw = _get(scenario, f"/v1/directives/{DIRECTIVE_ID}")
    encoded = _get(scenario, "/v1/directives/" + quote(DIRECTIVE_ID, safe=""))
    assert raw.status_code == 200 and encoded.json() == raw.json()
    body = raw.json()
    by = {r["commune_code"]: r for r in body["recipients"]}
    assert sorted(by) == sorted(RECIPIENTS) and body["code_notation"] == "456/CT-UBND"
    assert body["subject"] == "Về việc đẩy mạnh số hóa hồ sơ"  # the directive document's trích yếu (v4)
    assert {c: r["acceptance_overdue"] for c, r in by.items()} == {
        "23734": False, "23728": False, "23722": False, "23749": True, "23767": True}
    assert by["23767"]["accepted_at"] is None and by["23767"]["acceptance_met"] is False
    assert by["23749"]["accepted_at"] == "2025-09-04T01:00:00.000Z"  # 08:00 Vietnam time
    assert by["23734"]["acceptance_deadline"] == "2025-09-03T08:00:00.000Z"  # Wed 15:00: 1 working day
    assert by["23734"]["replied_at"] == "2025-09-10T10:00:00.000Z"
    assert body["not_accepted_communes"] == ["23767"]
    # at 2025-12-10 the completion deadline (end of 09-15) has passed for all but 23734, which completed 09-10
    assert body["overdue_communes"] == ["23722", "23728", "23749", "23767"] and body["overdue"] is True
    overdue = _get(scenario, "/v1/directives", overdue="true").json()
    assert overdue["count"] == 1 and overdue["directives"][0]["document_id"] == DIRECTIVE_ID
    assert overdue["directives"][0]["subject"] == "Về việc đẩy mạnh số hóa hồ sơ"
    missing = _get(scenario, "/v1/directives/000.00.00.H41,2025/01/01,1/CT-UBND")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_freshness_per_commune_and_system(scenario):
    """At 2025-12-10 every system of the datasets is silent; the other 130 communes were never heard from."""
    body = _get(scenario, "/v1/freshness").json()
    by = {c["commune_code"]: c for c in body["communes"]}
    assert sorted(by) == sorted(RECIPIENTS) and all(c["silent"] for c in by.values())
    systems = {(s["source_system"], s["kind"]): s for s in by[COMMUNE]["systems"]}
    assert sorted(systems) == [("edoc-province", "document"), ("onestop-ialy", "dossier")]
    dossiers = systems[("onestop-ialy", "dossier")]
    # D12's acceptance, 2025-11-21 08:00 Vietnam time, reached the hub 30 s later
    assert (dossiers["last_event_time"], dossiers["last_ingest_time"], dossiers["silent"]) == (
        "2025-11-21T01:00:00.000Z", "2025-11-21T01:00:30.000Z", True)
    assert body["silent_systems"] == 6 and len(body["unseen_communes"]) == GIA_LAI_COMMUNES - 5


def test_only_reader_keys_may_read(scenario):
    """A reader key reads; a publisher key is 403 role_not_allowed; no key or an unknown key is 401."""
    path = f"/v1/kpi/communes/{COMMUNE}"
    assert _get(scenario, path).status_code == 200
    refused = _get(scenario, path, key="publisher")
    assert refused.status_code == 403 and refused.json()["error"] == "role_not_allowed"
    for key in (None, "hubk_" + "A" * 43):
        r = _get(scenario, path, key=key)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    post = httpx.post(f"{scenario.url}/v1/events/dossier", json={"MaHoSo": "X"}, timeout=30,
                      headers={"authorization": f"Bearer {scenario.reader_key}"})
    assert post.status_code == 403 and post.json()["error"] == "role_not_allowed"


@pytest.mark.parametrize(("path", "params", "field", "message"), [
    (f"/v1/kpi/communes/{COMMUNE}", {"period": "week"}, "period", "period must be one of day, month, quarter"),
    (f"/v1/kpi/communes/{COMMUNE}", {"period": "month", "at": "2025-13"}, "at", "at: month must be 01..12"),
    ("/v1/kpi/province", {"period": "day", "at": "2025-11"}, "at", "at must be YYYY-MM-DD for period=day"),
    ("/v1/kpi/province", {"period": "quarter", "at": "2025-Q5"}, "at", "at must be YYYY-Qn for period=quarter"),
    ("/v1/kpi/province", {"period": "day", "at": "2025-02-30"}, "at", "at: day must be 01..28 in 2025-02"),
    ("/v1/directives", {"overdue": "maybe"}, "overdue", "overdue must be true or false"),
    ("/v1/directives", {"limit": "0"}, "limit", "limit must be an integer from 1 to 1000"),
])
def test_bad_parameters_are_400_with_a_json_body(scenario, path, params, field, message):
    """A parameter that cannot be read is 400 bad_parameter naming the parameter and its rule."""
    r = _get(scenario, path, **params)
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")
    assert r.json() == {"error": "bad_parameter", "message": message, "stage": "parse", "field": field}


def test_hub_status_glance_reads_the_same_feeds(scenario):
    """`hub status` names December's worst commune (Ia Ly, 3/6), the directive Ia Hrung never accepted and six
    silent systems, read from the feeds with the read model's code."""
    g = status.collect(scenario.settings, timeout_s=30)["province_glance"]
    assert g["month"] == "2025-12"
    assert [(w["code"], w["on_time"], w["in_scope"]) for w in g["worst"]] == [(COMMUNE, 3, 6)]
    [directive] = g["overdue_directives"]
    assert directive["document_id"] == DIRECTIVE_ID and directive["not_accepted"] == ["23767"]
    assert len(g["silent_systems"]) == 6
