"""Fixtures of the gateway tests."""

from __future__ import annotations

import pytest

from hub import systems
from hub.gateway.server import ServerThread
from tests.gateway.ingest_gateway import Gateway


@pytest.fixture
def gateway(make_settings):
    """Factory: a gateway thread with systems ialy (23734, dossier+document), multi (23734+23728,
    dossier), vanban (23749, document, organ 000.23.749.H41) and baocao (23734, target)."""
    started: list[ServerThread] = []

    def make(**overrides) -> Gateway:
        s = make_settings(**{"organs": "000.00.00.H41=52", **overrides})
        keys = {
            "ialy": systems.add(s, "ialy", ["23734"], ["dossier", "document"]),
            "multi": systems.add(s, "multi", ["23734", "23728"], ["dossier"]),
            "vanban": systems.add(s, "vanban", ["23749"], ["document"], ["000.23.749.H41"]),
            "baocao": systems.add(s, "baocao", ["23734"], ["target"]),
        }
        srv = ServerThread(s).start()
        started.append(srv)
        return Gateway(srv, s, keys)

    yield make
    for srv in started:
        srv.stop()
