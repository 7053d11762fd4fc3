"""Hostile inputs for every door of the hub, generated deterministically from a seed.

* :func:`requests` — HTTP requests to the gateway: auth bypass, other communes and provinces,
  oversized bodies, batches and headers, malformed bytes / JSON / XML (entity bombs, external
  entities), wrong media types, methods and paths; each with the 4xx statuses it may end in.
* :func:`records` — raw records injected straight into ``ingest.*``: random bytes, forged, missing
  and undecodable ``hub.*`` headers (``bad_header`` where the header rules catch them first), forged
  ``hub.error.*`` headers, tombstones, oversized values,
  XML bombs; each with the dead-letter reasons it may end in.
* :func:`files` — files for the drop folder: empty, header-less, binary, badly encoded, not JSON,
  not XML, entity bombs, unknown roots, unknown extensions, oversized records; and well-formed files
  whose records are invalid (published, then dead-lettered).

None of them is valid: a hostile input that the hub accepted would be a finding.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson

IN_SCOPE = "23734"  # the hostile publisher's only commune
OTHER_COMMUNE = "23728"  # Gia Lai, not registered for it
OTHER_PROVINCE = "00004"  # Hà Nội (Ba Đình)
EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><edXML xmlns="' + EDXML_NS.encode() + b'">&lol3;</edXML>')
XXE = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<edXML xmlns="' + EDXML_NS.encode() + b'">&x;</edXML>')
UNKNOWN_ROOT = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>x</body></html>'


def valid_dossier(i: int, **change) -> dict:
    """A dossier this publisher could send; hostile inputs are built by breaking it."""
    return {"MaHoSo": f"HX-{i:06d}", "TrangThaiHoSo": "2", "MaXa": IN_SCOPE, "NgayTiepNhan": "20251120083000",
            "NgayHenTra": "20251125170000", **change}


def _garbage(rng: random.Random, n: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(n))


def _broken_json(rng: random.Random, i: int) -> bytes:
    text = orjson.dumps(valid_dossier(i))
    cut = rng.randrange(1, len(text) - 1)
    return rng.choice([text[:cut], text[:cut] + b"}}}", b"{" + text, text.replace(b'"', b"'", 3),
                       b"{\"MaHoSo\": NaN}", b"[1, 2, 3]", b"42", b'"just a string"', b"null", b"true", b"[]"])


def _bad_fields(rng: random.Random, i: int) -> dict:
    """A dossier object with one field broken (missing, wrong type, out of range, bad date)."""
    return rng.choice([
        {k: v for k, v in valid_dossier(i).items() if k != "MaHoSo"},
        valid_dossier(i, MaHoSo=""),
        valid_dossier(i, MaHoSo={"$ne": None}),
        valid_dossier(i, TrangThaiHoSo=str(rng.choice([0, 11, 42, -1, 99]))),
        valid_dossier(i, TrangThaiHoSo=["2"]),
        valid_dossier(i, NgayTiepNhan=rng.choice(["2025-13-45", "yesterday", "99999999999999", "31/02/2025"])),
        valid_dossier(i, NgayHenTra="20240101000000"),
        valid_dossier(i, MaXa="99999"),
        valid_dossier(i, MaXa=OTHER_PROVINCE),
        valid_dossier(i, MaXa="'; DROP TABLE x; --"),
    ])


# --- the gateway --------------------------------------------------------------------------------------

@dataclass
class Request:
    category: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    expect: frozenset[int] = field(default_factory=frozenset)  # allowed statuses (all 4xx)


def requests(n: int, keys: dict[str, str], *, max_body: int, max_batch: int, seed: int = 1) -> Iterator[Request]:
    """``n`` hostile requests; ``keys``: publisher (IN_SCOPE only), reader, revoked."""
    rng = random.Random(seed)
    pub = {"authorization": f"Bearer {keys['publisher']}", "content-type": "application/json"}
    dossier = "/v1/events/dossier"
    makers = [
        # auth bypass
        lambda i: Request("auth", "POST", dossier, {"content-type": "application/json"},
                          orjson.dumps(valid_dossier(i)), frozenset({401})),
        lambda i: Request("auth", "POST", dossier, {**pub, "authorization": rng.choice(
            ["Bearer", "Bearer =", "Basic dXNlcjpwYXNz", "bearer", f"Token {keys['publisher']}",
             f"Bearer {keys['publisher']}x", f"Bearer {keys['publisher'][:-1]}", "Bearer " + "A" * 2000,
             f"Bearer {_garbage(rng, 24).hex()}", "Bearer null", "Bearer ../../etc/passwd"])},
            orjson.dumps(valid_dossier(i)), frozenset({401})),
        lambda i: Request("auth", "POST", dossier, {**pub, "authorization": f"Bearer {keys['revoked']}"},
                          orjson.dumps(valid_dossier(i)), frozenset({401})),
        lambda i: Request("auth", "POST", dossier, {**pub, "authorization": f"Bearer {keys['reader']}"},
                          orjson.dumps(valid_dossier(i)), frozenset({403})),
        lambda i: Request("auth", "POST", "/v1/events/document", {**pub, "content-type": "application/xml"},
                          UNKNOWN_ROOT, frozenset({403})),  # the publisher may send dossiers only
        # other communes and provinces
        lambda i: Request("commune", "POST", dossier, pub, orjson.dumps(valid_dossier(i, MaXa=OTHER_COMMUNE)),
                          frozenset({403})),
        lambda i: Request("commune", "POST", dossier, {**pub, "x-hub-commune": OTHER_COMMUNE},
                          orjson.dumps({k: v for k, v in valid_dossier(i).items() if k != "MaXa"}), frozenset({403})),
        lambda i: Request("commune", "POST", dossier, pub,
                          orjson.dumps([valid_dossier(i), valid_dossier(i + 1, MaXa=OTHER_COMMUNE)]),
                          frozenset({403})),  # one foreign event refuses the whole batch
        lambda i: Request("commune", "POST", dossier, pub, orjson.dumps(valid_dossier(i, MaXa=OTHER_PROVINCE)),
                          frozenset({422})),
        # oversized
        lambda i: Request("oversized", "POST", dossier, pub, b'{"MaHoSo": "' + b"x" * (max_body + 10) + b'"}',
                          frozenset({413})),
        lambda i: Request("oversized", "POST", dossier, pub,
                          orjson.dumps([valid_dossier(i * 1000 + j) for j in range(max_batch + 1)]), frozenset({413})),
        lambda i: Request("oversized", "POST", dossier, {**pub, "x-padding": "p" * 40_000},
                          orjson.dumps(valid_dossier(i)), frozenset({400, 413, 431})),
        lambda i: Request("oversized", "POST", dossier, pub, b"[" * 5000 + b"]" * 5000, frozenset({400, 413})),
        # malformed
        lambda i: Request("malformed", "POST", dossier, pub, _garbage(rng, rng.randrange(1, 300)),
                          frozenset({400, 422})),
        lambda i: Request("malformed", "POST", dossier, pub, _broken_json(rng, i), frozenset({400, 422})),
        lambda i: Request("malformed", "POST", dossier, pub, orjson.dumps(_bad_fields(rng, i)), frozenset({422})),
        lambda i: Request("malformed", "POST", dossier, pub, "{\"MaHoSo\": \"Đ\"}".encode("utf-16"),
                          frozenset({400})),
        lambda i: Request("malformed", "POST", dossier, {**pub, "content-type": rng.choice(
            ["text/plain", "application/x-www-form-urlencoded", "image/png", "multipart/form-data; boundary=x"])},
            orjson.dumps(valid_dossier(i)), frozenset({415})),
        lambda i: Request("malformed", "POST", dossier, {**pub, "x-hub-format": rng.choice(
            ["evil", "../../etc", "dvcqg-json;x", "HUB-JSON-9"])}, orjson.dumps(valid_dossier(i)),
            frozenset({400})),
        lambda i: Request("malformed", "POST", "/v1/events/document",
                          {**pub, "authorization": f"Bearer {keys['documents']}", "content-type": "application/xml"},
                          rng.choice([BOMB, XXE, UNKNOWN_ROOT, b"<edXML", b"<a><b></a>", _garbage(rng, 64)]),
                          frozenset({400, 422})),
        lambda i: Request("malformed", rng.choice(["PUT", "DELETE", "PATCH"]), dossier, pub,
                          orjson.dumps(valid_dossier(i)), frozenset({405})),
        lambda i: Request("malformed", "GET", rng.choice(["/v1/events/../../etc/passwd", "/admin", "/v1/events",
                                                          "/v1/events/dossier/../document", "/%00", "/registry/x"]),
                          pub, b"", frozenset({404, 405})),
    ]
    for i in range(n):
        yield makers[i % len(makers)](i)


# --- raw records injected into ingest.* --------------------------------------------------------------

@dataclass
class Injected:
    topic: str  # contract name: ingest.dossier or ingest.document
    value: bytes | None
    headers: list[tuple[str, bytes]]
    expect: frozenset[str]  # allowed dead-letter reasons


def records(n: int, *, publisher: str, max_payload: int, seed: int = 2) -> Iterator[Injected]:
    """``n`` raw records; ``publisher`` is a registered system (IN_SCOPE, dossiers only)."""
    rng = random.Random(seed)

    def hdrs(source: str | bytes | None = publisher, fmt: str | None = "dvcqg-json", **extra) -> list:
        out = [] if source is None else [("hub.source", source if isinstance(source, bytes) else source.encode())]
        if fmt is not None:
            out.append(("hub.format", fmt.encode()))
        return out + [(k.replace("_", "."), v if isinstance(v, bytes) else v.encode()) for k, v in extra.items()]

    shape = frozenset({"malformed_json", "bad_encoding"})
    makers = [
        lambda i: Injected("ingest.dossier", _garbage(rng, rng.randrange(1, 200)), hdrs(), shape),
        lambda i: Injected("ingest.dossier", _broken_json(rng, i), hdrs(), shape | {"missing_field"}),
        lambda i: Injected("ingest.dossier", orjson.dumps(_bad_fields(rng, i)), hdrs(),
                           frozenset({"missing_field", "invalid_value", "bad_date", "due_before_received",
                                      "unknown_status", "unknown_commune", "commune_not_in_province"})),
        lambda i: Injected("ingest.dossier", orjson.dumps(valid_dossier(i)), hdrs(source=None),
                           frozenset({"unknown_system", "bad_header"})),
        lambda i: Injected("ingest.dossier", orjson.dumps(valid_dossier(i)), hdrs(source=rng.choice(
            ["nobody", "", "admin", "hub", "chaos-hx-publisher ", "../x"])),
                           frozenset({"unknown_system", "bad_header"})),
        lambda i: Injected("ingest.dossier", orjson.dumps(valid_dossier(i)), hdrs(source=b"\xff\xfe\x00"),
                           frozenset({"unknown_system", "bad_header"})),
        lambda i: Injected("ingest.dossier", orjson.dumps(valid_dossier(i, MaXa=OTHER_COMMUNE)), hdrs(),
                           frozenset({"commune_not_in_scope"})),
        lambda i: Injected("ingest.dossier", orjson.dumps({k: v for k, v in valid_dossier(i).items() if k != "MaXa"}),
                           hdrs(hub_commune=OTHER_COMMUNE), frozenset({"commune_not_in_scope"})),
        lambda i: Injected("ingest.dossier", orjson.dumps(valid_dossier(i)), hdrs(fmt=rng.choice(
            ["evil", "edxml\x00", "x" * 300])), frozenset({"unknown_format", "bad_header"})),
        lambda i: Injected("ingest.dossier", b"{not json", hdrs(**{"hub_error_reason": "none",
                                                                   "hub_error_stage": "forged"}),
                           frozenset({"malformed_json", "bad_header"})),
        lambda i: Injected("ingest.dossier", None, hdrs(), shape | {"missing_field"}),  # a tombstone
        lambda i: Injected("ingest.dossier", b'{"MaHoSo": "' + b"x" * (max_payload + 100) + b'"}', hdrs(),
                           frozenset({"payload_too_large"})),
        lambda i: Injected("ingest.document", rng.choice([BOMB, XXE, b"<edXML", _garbage(rng, 80)]),
                           hdrs(fmt="edxml"), frozenset({"malformed_xml", "bad_encoding", "kind_not_allowed"})),
        lambda i: Injected("ingest.dossier", orjson.dumps(valid_dossier(i)), hdrs(source=publisher + "x" * 5000),
                           frozenset({"unknown_system", "bad_header"})),
    ]
    for i in range(n):
        yield makers[i % len(makers)](i)


# --- files for the drop folder ------------------------------------------------------------------------

def files(n: int, *, max_payload: int, seed: int = 3) -> Iterator[tuple[str, bytes, str | None]]:
    """``n`` (file name, content, reason it is rejected with — or None: published, its records invalid)."""
    rng = random.Random(seed)
    csv_header = b"MaHoSo,TrangThaiHoSo,MaXa,NgayTiepNhan\n"
    makers = [
        lambda i: (f"{i}.csv", b"", "malformed_csv"),
        lambda i: (f"{i}.csv", b" \n\t\n  \n", "malformed_csv"),
        lambda i: (f"{i}.csv", b"foo,bar,baz\n1,2,3\n", "malformed_csv"),
        lambda i: (f"{i}.csv", csv_header, "malformed_csv"),
        lambda i: (f"{i}.csv", b"\xff\xfe" + _garbage(rng, 100), "bad_encoding"),
        lambda i: (f"{i}.json", _garbage(rng, 50) + b"\xff", "bad_encoding"),
        lambda i: (f"{i}.json", b"{not json", "malformed_json"),
        lambda i: (f"{i}.json", rng.choice([b"42", b"[]", b"[1, 2]", b'"x"', b"null", b"true"]),
                   "malformed_json"),
        lambda i: (f"{i}.xml", BOMB, "malformed_xml"),
        lambda i: (f"{i}.xml", XXE, "malformed_xml"),
        lambda i: (f"{i}.xml", b"<edXML><unclosed>", "malformed_xml"),
        lambda i: (f"{i}.xml", UNKNOWN_ROOT, "unknown_document_root"),
        lambda i: (rng.choice([f"{i}.exe", f"{i}.txt", f"{i}", f"{i}.csv.zip", f"{i}.JSONX"]), b"MZ\x90\x00",
                   "unknown_format"),
        lambda i: (f"{i}.json", orjson.dumps([valid_dossier(i, Ghi="x" * (max_payload + 10))]), "payload_too_large"),
        # well-formed files of invalid dossiers: published, each record dead-lettered
        lambda i: (f"{i}.json", orjson.dumps([_bad_fields(rng, i)]), None),
    ]
    for i in range(n):
        yield makers[i % len(makers)](i)
