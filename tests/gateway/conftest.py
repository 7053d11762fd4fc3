"""Fixtures of the gateway tests."""

from __future__ import annotations

import pytest
from avro_samples import SCHEMAS
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub import systems
from hub.gateway.server import ServerThread
from hub.read import registry_api
from hub.settings import Settings
from tests.gateway.ingest_gateway import Gateway


@pytest.fixture(scope="module")
def registry_client() -> TestClient:
    """A bare app with only the registry router, as the gateway mounts it."""
    app = FastAPI()
    app.state.settings = Settings.from_env(env={}, schemas_dir=str(SCHEMAS), topic_prefix="tenant7.")
    app.include_router(registry_api.router, prefix="/registry")
    return TestClient(app)


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
