"""Property over the real gateway (uvicorn thread, real broker): whatever the body, never a 5xx.

Bodies go up to the real bound (HUB_GATEWAY_MAX_BODY_BYTES, 4 MiB) and a little past it: generated
JSON and XML, XML declarations naming odd encodings, raw bytes, and large bodies built by repeating
a generated unit (so that size does not cost Hypothesis generation time).
"""

from __future__ import annotations

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hub import systems
from hub.gateway.server import ServerThread

ROUTES = ["/v1/events/dossier", "/v1/events/document", "/registry/subjects/feed.dossier.v1-value",
          "/registry/subjects/feed.dossier.v1-value/versions"]
CONTENT_TYPES = ["application/json", "application/xml", "text/xml", "application/vnd.x+json", "text/plain", ""]
BOUND = 4 * 1024 * 1024
EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(
        st.sampled_from(["MaHoSo", "TrangThaiHoSo", "MaXa", "NgayTiepNhan", "NgayHenTra", "event_id", "kind",
                         "commune_code", "TaiLieuNop", "x"]) | st.text(max_size=8), inner, max_size=6),
    max_leaves=20)
encodings = st.sampled_from(["UTF-8", "utf-16", "x-foo", "latin-1", "cp932", "", "ascii", "\u00e9"])
xml_docs = st.builds(
    lambda enc, root, ns, text: (f'<?xml version="1.0" encoding="{enc}"?><{root} xmlns="{ns}">{text}</{root}>'
                                 ).encode("utf-8", "surrogatepass"),
    encodings, st.sampled_from(["edXML", "EdXMLEnvelope", "a"]), st.sampled_from([EDXML, "http://www.go.vn/eDoc",
                                                                                 "urn:x"]),
    st.text(max_size=60).map(lambda t: t.replace("<", "&lt;").replace("&", "&amp;")))
small_bodies = st.one_of(json_values.map(orjson.dumps), xml_docs, st.binary(max_size=200))


@st.composite
def bodies(draw) -> bytes:
    """A small generated body, or one of its units repeated to a size near or past the 4 MiB bound."""
    unit = draw(small_bodies)
    if not draw(st.booleans()) or not unit:
        return unit
    size = draw(st.sampled_from([64 * 1024 + 1, 1024 * 1024, BOUND - 10, BOUND, BOUND + 1, BOUND + 100_000]))
    if draw(st.booleans()):  # a JSON array of the unit: exercises the element and container counts
        item = unit if unit[:1] in (b"{", b"[") else b"{}"
        return b"[" + b",".join([item] * max(1, size // (len(item) + 1))) + b"]"
    return (unit * (size // len(unit) + 1))[:size]


@pytest.fixture(scope="module")
def live(kafka_bootstrap, tmp_path_factory):
    """One gateway for the whole property, with a publisher key for Ia Ly (23734)."""
    import uuid

    from hub.contract import topics
    from hub.settings import Settings

    s = Settings.from_env(env={}, kafka_bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
                          partitions=1, dev_mode=True)
    topics.create(s)
    key = systems.add(s, "fuzz", ["23734"], ["dossier", "document"], ["000.23.734.H41"])
    with ServerThread(s) as srv, httpx.Client(base_url=srv.url, timeout=120) as client:
        yield client, key


@pytest.mark.timeout(600)
def test_no_body_ever_gets_a_5xx(live):
    """Any body, content type and POST route: the gateway answers below 500 (and only 2xx/4xx)."""
    client, key = live

    @given(body=bodies(), route=st.sampled_from(ROUTES), ctype=st.sampled_from(CONTENT_TYPES),
           fmt=st.sampled_from([None, "edxml", "edoc-go", "hub-json", "dvcqg-json", "nope"]))
    @example(body=f'<?xml version="1.0" encoding="x-foo"?><edXML xmlns="{EDXML}"/>'.encode(),
             route=ROUTES[1], ctype="application/xml", fmt=None)  # issue 8.6: a 500 before
    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def prop(body: bytes, route: str, ctype: str, fmt: str | None) -> None:
        headers = {"authorization": f"Bearer {key}", "content-type": ctype}
        if fmt:
            headers["x-hub-format"] = fmt
        r = client.post(route, content=body, headers=headers)
        assert r.status_code < 500, (r.status_code, r.text[:500], body[:200])
        assert r.headers["content-type"].startswith(("application/json", "application/vnd.schemaregistry"))

    prop()
