"""Authentication on a real broker: fresh keys, unknown keys, roles, and lookups that never wait on Kafka."""

from __future__ import annotations

import threading
from typing import Annotated

import httpx
import pytest
from fastapi import Depends
from test_systems import StalledConsumer

from hub import systems
from hub.gateway.auth import current_reader
from hub.gateway.server import ServerThread
from hub.systems import System, _follower

DOSSIER = {"MaHoSo": "A-1", "TrangThaiHoSo": "2", "MaXa": "23734", "NgayTiepNhan": "20250801083000"}


def _post(srv: ServerThread, key: str, body=DOSSIER) -> httpx.Response:
    return httpx.post(f"{srv.url}/v1/events/dossier", json=body, headers={"authorization": f"Bearer {key}"},
                      timeout=30)


@pytest.fixture
def slow_follow(make_settings):
    """Settings whose follower would wait an hour between reads: only an on-demand re-read sees changes."""
    return make_settings(systems_follow_interval_ms=3_600_000)


def test_key_used_right_after_add_is_accepted(slow_follow):
    """A key printed by `hub systems add` a moment ago is accepted at once: the gateway re-reads on a miss."""
    with ServerThread(slow_follow) as srv:
        key = systems.add(slow_follow, "ialy", ["23734"], ["dossier"])
        r = _post(srv, key)
        assert r.status_code == 202, r.text
        assert srv.app.state.keys.refreshes == 1
        assert _post(srv, key).status_code == 202 and srv.app.state.keys.refreshes == 1  # known now


def test_an_unknown_key_rereads_the_list_once(slow_follow):
    """A guessed key costs one re-read, then is answered 401 from memory however often it is retried."""
    forged = "hubk_" + "Z" * 43
    with ServerThread(slow_follow) as srv:
        for _ in range(3):
            r = _post(srv, forged)
            assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert srv.app.state.keys.refreshes == 1
        assert _post(srv, "not-a-hub-key").status_code == 401 and srv.app.state.keys.refreshes == 1


def test_reader_may_not_publish(make_settings):
    """A reader's key on an ingest route is 403 role_not_allowed, and nothing is written."""
    s = make_settings()
    key = systems.add(s, "dashboard", role="reader")
    with ServerThread(s) as srv:
        r = _post(srv, key)
        assert r.status_code == 403
        assert r.json() == {"error": "role_not_allowed", "message": "system 'dashboard' is a reader; this route "
                            "is for publishers", "stage": "auth"}


def test_current_reader_dependency(make_settings):
    """current_reader lets reader keys through; publisher keys are 403, missing keys 401."""
    s = make_settings()
    reader = systems.add(s, "dashboard", role="reader")
    publisher = systems.add(s, "ialy", ["23734"], ["dossier"])
    srv = ServerThread(s)

    async def who(system: Annotated[System, Depends(current_reader)]) -> dict:
        return {"id": system.id}

    srv.app.add_api_route("/v1/test/whoami", who, methods=["GET"])
    with srv:
        url = f"{srv.url}/v1/test/whoami"
        ok = httpx.get(url, headers={"authorization": f"Bearer {reader}"})
        assert (ok.status_code, ok.json()) == (200, {"id": "dashboard"})
        refused = httpx.get(url, headers={"authorization": f"Bearer {publisher}"})
        assert refused.status_code == 403 and refused.json()["error"] == "role_not_allowed"
        assert httpx.get(url).status_code == 401


def test_requests_are_answered_while_a_systems_read_is_stalled(make_settings):
    """While the follower's read of hub.systems.v1 hangs, /healthz and an authenticated POST still answer."""
    s = make_settings()
    key = systems.add(s, "ialy", ["23734"], ["dossier"])
    entered, release = threading.Event(), threading.Event()
    with ServerThread(s) as srv:
        follower = srv.app.state.systems
        with follower._io:  # swap in a consumer that stalls (between two reads, under the read lock)
            follower._close_consumer()
            follower._factory = lambda settings: StalledConsumer(_follower._kafka_consumer(settings), entered,
                                                                  release)
        reader = threading.Thread(target=follower.refresh_now, args=(120,), daemon=True)
        try:
            reader.start()
            assert entered.wait(30), "the follower did not start its read"
            assert httpx.get(f"{srv.url}/healthz", timeout=30).status_code == 200
            r = _post(srv, key)
            assert r.status_code == 202, r.text
            assert reader.is_alive() and not release.is_set()  # both answered while the read was stuck
        finally:
            release.set()
            reader.join(30)


def test_an_organ_onboarded_a_moment_ago_is_known(slow_follow):
    """A document from an OrganId registered after the gateway last read the list is accepted: the gateway
    re-reads once before answering. A system may only send as its own OrganIds, so the organ comes with a
    re-registration of the sending system (and its new key)."""
    from pathlib import Path

    report = (Path(__file__).resolve().parents[1] / "fixtures" / "edxml" / "outgoing_report_from_commune.xml")
    systems.add(slow_follow, "iaphi", ["23749"], ["document"])
    with ServerThread(slow_follow) as srv:
        key = systems.add(slow_follow, "iaphi", ["23749"], ["document"], ["000.23.749.H41"])  # the sender
        r = httpx.post(f"{srv.url}/v1/events/document", content=report.read_bytes(), timeout=30,
                       headers={"authorization": f"Bearer {key}", "content-type": "application/xml"})
        assert r.status_code == 202, r.text
        assert [a["commune_code"] for a in r.json()["accepted"]] == ["23749"]
        assert srv.app.state.keys.refreshes == 1
