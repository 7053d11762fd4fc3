"""Property tests: hostile, malformed and mutated inputs end as valid records or a reason code.

For every format, whatever the bytes, ``normalize`` either returns records that encode under
the latest schema of their feed, or raises :class:`Rejected` with a reason from REASONS — never
another exception, and within the hypothesis deadline (no stalled agent). Payloads go up to the
real size limit (``HUB_MAX_PAYLOAD_BYTES``); the large ones are in test_properties_large.py.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from fixtures.load import cases
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import REASONS, Rejected
from hub.normalize import normalize
from hub.settings import Settings

from .support import context, encode, envelope

FORMATS = [("dvcqg-json", "dossier"), ("edxml", "document"), ("edoc-go", "document"), ("hub-json", "dossier"),
           ("hub-json", "document"), ("csv", "dossier"), ("hub-json", "target"), ("csv", "target")]
SEEDS = {(c.format, c.kind): [] for c in cases()}
for _c in cases():
    SEEDS[(_c.format, _c.kind)].append(_c.raw)
HINTS = st.sampled_from([None, "23734", "23767", "99999", "00004", "abc"])
MAX_BYTES = Settings.from_env(env={}).max_payload_bytes  # the real limit (1 MiB by default)
PROFILE = settings(max_examples=60, deadline=timedelta(milliseconds=1500),
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

XML_HOSTILE = [
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&c;</edXML>',
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
    b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "http://127.0.0.1:9/x.dtd"><a/>',
    b'<?xml version="1.0" encoding="UTF-16"?><a/>',
    b'<?xml version="1.0" encoding="windows-1258"?><EdXMLEnvelope xmlns="http://www.go.vn/eDoc"/>',
    b"<a>" * 5000 + b"</a>" * 5000,
    b'<EdXMLEnvelope xmlns="http://www.go.vn/eDoc">' + b"<x>" * 3000 + b"</x>" * 3000 + b"</EdXMLEnvelope>",
    b"<?xml-stylesheet href='x'?><!-- c --><edXML xmlns='http://www.mic.gov.vn/TBT/QCVN_102_2016'/>",
]
JSON_HOSTILE = [
    b"[" * 5000 + b"]" * 5000,
    b'{"data":' * 1100 + b"{}" + b"}" * 1100,
    b'{"MaHoSo":"x","TrangThaiHoSo":123456789012345678901234567890}',
    b'{"dossier_code":"x","status":1,"service_level":1e308}',
    b'{"dossier_code":"x","status":1,"received_at":"99999999999999"}',
    b'{"dossier_code":"\\ud800","status":1}',
    b'{"events":[]}',
    b"[]",
    b"null",
    b'"text"',
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=30) | st.sampled_from(["01", "4", "13", "20251127083000", "27/11/2025", "2025/11/27",
                                             "000.23.734.H41", "23734", "PROCESSING", "Đang xử lý"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def _check(raw: bytes, fmt: str, kind: str, hint: str | None) -> None:
    """The property: records that encode, or Rejected with a known reason."""
    ctx = context(max_payload_bytes=MAX_BYTES)
    try:
        records = normalize(raw, envelope(fmt, kind, hint), ctx)
    except Rejected as exc:
        assert exc.reason in REASONS
        return
    assert records
    for rec in records:
        encode(kind, rec)


_SPECIAL = [b"<", b"&", b'"', b";", b",", b"\n", b"\x00", b"\xff", b"]]>", b"{", b"}"]


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    raw = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        pos = draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "truncate":
            del raw[pos:]
        elif op == "flip" and raw:
            raw[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            raw[pos:pos] = draw(st.binary(max_size=8) | st.sampled_from(_SPECIAL))
        else:
            del raw[pos:pos + draw(st.integers(1, 16))]
    return bytes(raw)


@st.composite
def recoded(draw, seeds: list[bytes]) -> bytes:
    """A valid fixture in a wrong encoding (UTF-16, Latin-1, Windows-1258)."""
    text = draw(st.sampled_from(seeds)).decode("utf-8-sig")
    codec = draw(st.sampled_from(["utf-16", "utf-16-le", "latin-1", "cp1258", "utf-32"]))
    return text.encode(codec, errors="replace")


@st.composite
def json_field_mutations(draw, seeds: list[bytes]) -> bytes:
    """A JSON fixture with fields dropped or replaced by arbitrary JSON values."""
    doc = json.loads(draw(st.sampled_from(seeds)).decode("utf-8-sig"))
    objs = doc if isinstance(doc, list) else [doc.get("data") or doc.get("events") or doc]
    objs = [o for x in objs for o in (x if isinstance(x, list) else [x]) if isinstance(o, dict)]
    for obj in objs[:3]:
        keys = sorted(obj)
        for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)) if keys else []:
            if draw(st.booleans()):
                del obj[key]
            else:
                obj[key] = draw(json_values)
    return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()


@st.composite
def xml_text_mutations(draw, seeds: list[bytes]) -> bytes:
    """An XML fixture with element texts replaced by arbitrary (escaped) text."""
    text = draw(st.sampled_from(seeds)).decode("utf-8")
    spans = [m.span(1) for m in re.finditer(r">([^<>]+)<", text)]
    for start, end in sorted(draw(st.lists(st.sampled_from(spans), max_size=4, unique=True)), reverse=True):
        value = draw(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
                     | st.sampled_from(["", "99", "-1", "01", "2025/02/30", "000.99.99.H41", "1" * 40]))
        text = text[:start] + value.replace("&", "&amp;").replace("<", "&lt;") + text[end:]
    return text.encode()


def _any_input(fmt: str, kind: str):
    seeds = SEEDS[(fmt, kind)]
    options = [st.binary(max_size=512), mutated(seeds), recoded(seeds),
               st.integers(0, 255).map(lambda b: bytes([b]) * (MAX_BYTES + 1))]
    if fmt in ("edxml", "edoc-go"):
        options += [st.sampled_from(XML_HOSTILE), xml_text_mutations(seeds)]
    elif fmt != "csv":
        options += [st.sampled_from(JSON_HOSTILE), json_field_mutations(seeds)]
    else:
        options += [st.text(alphabet=";,\"\n\r\tAx1/é", max_size=200).map(str.encode)]
    return st.one_of(options)


def _property(fmt: str, kind: str, inputs=None, profile=PROFILE):
    @profile
    @given(raw=_any_input(fmt, kind) if inputs is None else inputs, hint=HINTS)
    def prop(raw: bytes, hint: str | None) -> None:
        _check(raw, fmt, kind, hint)

    return prop


def test_dvcqg_json_never_crashes():
    """dvcqg-json: any bytes end as encodable records or a reason code."""
    _property("dvcqg-json", "dossier")()


def test_edxml_never_crashes():
    """edxml: any bytes (bombs, external entities, wrong encodings, mutations) end well."""
    _property("edxml", "document")()


def test_edoc_go_never_crashes():
    """edoc-go: any bytes end as encodable records or a reason code."""
    _property("edoc-go", "document")()


def test_hub_json_dossiers_never_crash():
    """hub-json dossiers: any bytes end as encodable records or a reason code."""
    _property("hub-json", "dossier")()


def test_hub_json_documents_never_crash():
    """hub-json documents: any bytes end as encodable records or a reason code."""
    _property("hub-json", "document")()


def test_csv_never_crashes():
    """csv: any bytes end as encodable records or a reason code."""
    _property("csv", "dossier")()


def test_hostile_inputs_each_format():
    """Every hostile sample is checked explicitly under every format (not left to sampling)."""
    for fmt, kind in FORMATS:
        for raw in XML_HOSTILE + JSON_HOSTILE:
            _check(raw, fmt, kind, "23734")
