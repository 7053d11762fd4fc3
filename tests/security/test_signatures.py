"""hub.contract.signatures: an ingest record's hub.signature binds its source system's key to its headers and bytes."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from connectors.publisher import Publisher, ingest_record
from hub.contract import headers as h
from hub.contract import signatures
from hub.errors import ConfigError
from hub.settings import Settings

KEY_A, KEY_B = "hubk_" + "a" * 43, "hubk_" + "b" * 43
HASH_A = hashlib.sha256(KEY_A.encode()).hexdigest()  # what hub.systems.v1 stores for system A
PAYLOAD = b'{"MaHoSo":"G22.52.23734-250801-0001","TrangThaiHoSo":"2"}'
HEADERS = {h.SOURCE: "onestop-a", h.FORMAT: "dvcqg-json", h.COMMUNE: "23734", h.SOURCE_EVENT_ID: "e-1",
           h.TRACE_ID: "t-1"}


def signed(key: str = KEY_A, headers: dict | None = None, payload: bytes = PAYLOAD) -> dict:
    hdrs = dict(HEADERS if headers is None else headers)
    hdrs[h.SIGNATURE] = signatures.sign(signatures.key_of(key), "dossier", hdrs, payload)
    return hdrs


def _literal(version: str, fields: list[bytes], payload: bytes = PAYLOAD) -> str:
    msg = b"".join(len(f).to_bytes(4, "big") + f for f in fields) + len(payload).to_bytes(8, "big") + payload
    return f"{version}=" + hmac.new(bytes.fromhex(HASH_A), msg, hashlib.sha256).hexdigest()


V1_FIELDS = [b"hub-ingest-v1", b"dossier", b"onestop-a", b"dvcqg-json", b"23734", b"e-1"]
V2_FIELDS = [b"hub-ingest-v2", b"dossier", b"onestop-a", b"dvcqg-json", b"23734", b"e-1", b"t-1"]


def test_signature_is_hmac_sha256_keyed_by_the_stored_key_hash():
    """The signing key is SHA-256(system key) — the hash hub.systems.v1 holds — and the MAC is HMAC-SHA256
    over length-prefixed fields (recomputed here by hand): v2 binds the trace id after the source event id."""
    assert signed()[h.SIGNATURE] == _literal("v2", V2_FIELDS)
    assert signatures.check(HASH_A, "dossier", signed(), PAYLOAD, required=True) is None


def test_v1_records_still_verify_unless_turned_off():
    """A v1 record (made by hand, as an older SDK wrote it) verifies; accept_v1=False refuses it; a v1 MAC
    presented as v2 (or a v2 MAC as v1) never verifies."""
    v1 = {**HEADERS, h.SIGNATURE: _literal("v1", V1_FIELDS)}
    assert signatures.check(HASH_A, "dossier", v1, PAYLOAD, required=True) is None
    assert signatures.check(HASH_A, "dossier", {**v1, h.TRACE_ID: "other"}, PAYLOAD, required=True) is None
    assert signatures.check(HASH_A, "dossier", v1, PAYLOAD, required=True, accept_v1=False).reason == "bad_signature"
    swapped = {**HEADERS, h.SIGNATURE: "v2=" + _literal("v1", V1_FIELDS)[3:]}
    assert signatures.check(HASH_A, "dossier", swapped, PAYLOAD, required=True).reason == "bad_signature"
    swapped = {**HEADERS, h.SIGNATURE: "v1=" + _literal("v2", V2_FIELDS)[3:]}
    assert signatures.check(HASH_A, "dossier", swapped, PAYLOAD, required=True).reason == "bad_signature"


def test_replayed_and_non_hub_headers_are_not_signed():
    """hub dlq replay adds hub.replayed to a signed record: it still verifies (a deliberate choice)."""
    hdrs = {**signed(), h.REPLAYED: "3", "traceparent": "00-x"}
    assert signatures.check(HASH_A, "dossier", hdrs, PAYLOAD, required=True) is None


@pytest.mark.parametrize(("what", "change"), [
    ("source", lambda hd, p: ({**hd, h.SOURCE: "onestop-b"}, p)),
    ("format", lambda hd, p: ({**hd, h.FORMAT: "hub-json"}, p)),
    ("commune", lambda hd, p: ({**hd, h.COMMUNE: "23728"}, p)),
    ("commune removed", lambda hd, p: ({k: v for k, v in hd.items() if k != h.COMMUNE}, p)),
    ("source event id", lambda hd, p: ({**hd, h.SOURCE_EVENT_ID: "e-2"}, p)),
    ("trace id", lambda hd, p: ({**hd, h.TRACE_ID: "t-2"}, p)),
    ("payload", lambda hd, p: (hd, p.replace(b'"2"', b'"4"'))),
])
def test_any_change_to_a_signed_field_breaks_the_signature(what, change):
    """Changing the source, format, commune, source event id or a payload byte makes the record bad_signature."""
    hdrs, payload = change(signed(), PAYLOAD)
    rej = signatures.check(HASH_A, "dossier", hdrs, payload, required=True)
    assert rej is not None and rej.reason == "bad_signature" and rej.field == h.SIGNATURE, what


def test_the_kind_is_signed_too():
    """A dossier record's signature does not verify as a document (a record moved between ingest topics)."""
    assert signatures.check(HASH_A, "document", signed(), PAYLOAD, required=True).reason == "bad_signature"


def test_the_trace_id_is_signed():
    """v2: a changed or removed trace id breaks the signature (it reaches feed headers and KPI rows)."""
    assert signatures.check(HASH_A, "dossier", {**signed(), h.TRACE_ID: "other"}, PAYLOAD,
                            required=True).reason == "bad_signature"
    no_trace = {k: v for k, v in signed().items() if k != h.TRACE_ID}
    assert signatures.check(HASH_A, "dossier", no_trace, PAYLOAD, required=True).reason == "bad_signature"


def test_another_systems_key_does_not_verify():
    """A record naming system A but signed with B's key is refused (a publisher posing as another)."""
    rej = signatures.check(HASH_A, "dossier", signed(KEY_B), PAYLOAD, required=True)
    assert rej.reason == "bad_signature"
    assert "onestop" not in rej.message and KEY_B not in rej.message  # names the header and rule only


def test_unsigned_records_pass_only_outside_secure_mode():
    """No signature: accepted in plain mode, refused when required; a bad one is refused in both modes."""
    assert signatures.check(HASH_A, "dossier", HEADERS, PAYLOAD, required=False) is None
    assert signatures.check(HASH_A, "dossier", HEADERS, PAYLOAD, required=True).reason == "bad_signature"
    forged = {**HEADERS, h.SIGNATURE: "v1=" + "0" * 64}
    assert signatures.check(HASH_A, "dossier", forged, PAYLOAD, required=False).reason == "bad_signature"
    assert signatures.check(HASH_A, "dossier", {**HEADERS, h.SIGNATURE: "garbage"}, PAYLOAD,
                            required=False).reason == "bad_signature"


def test_unknown_systems_are_left_to_the_normalizer():
    """No registered key hash (unknown system): check passes it on, the normalizer says unknown_system."""
    assert signatures.check(None, "dossier", HEADERS, PAYLOAD, required=True) is None


def test_sdk_records_carry_a_signature_when_given_the_system_key():
    """ingest_record signs with the system key (exactly hub.contract.signatures' value); without a key it adds none."""
    rec = ingest_record("dossier", PAYLOAD, source_system="onestop-a", format="dvcqg-json", commune="23734",
                        event_id="e-1", trace="t-1", system_key=KEY_A)
    assert rec.headers[h.SIGNATURE] == signed()[h.SIGNATURE]
    plain = ingest_record("dossier", PAYLOAD, source_system="onestop-a", format="dvcqg-json", event_id="e-1")
    assert h.SIGNATURE not in plain.headers


def test_sdk_refuses_secure_mode_without_a_system_key():
    """HUB_KAFKA_SECURITY=scram without HUB_SYSTEM_KEY: the Publisher refuses to start (every record would be
    dead-lettered) and says which setting is missing."""
    s = Settings.from_env(env={}, kafka_bootstrap="127.0.0.1:1", kafka_security="scram", kafka_username="pub.a",
                          kafka_password="p" * 20)
    with pytest.raises(ConfigError, match="HUB_SYSTEM_KEY"):
        Publisher("onestop-a", s)
