"""Property tests at the real payload limit, and rejection messages that never echo a value.

Large payloads are grown from the fixtures up to ``HUB_MAX_PAYLOAD_BYTES`` (1 MiB): a structural
element repeated (recipients, attachments, rows, array items), one huge text value, or deep
nesting. Whatever comes out must be records that encode or a :class:`Rejected` with a known
reason — ``too_expensive`` included — never another exception.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import REASONS, Rejected
from hub.normalize import normalize

from .support import context, envelope
from .test_properties import FORMATS, HINTS, MAX_BYTES, SEEDS, _property

LARGE = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
# whole elements worth repeating: recipients, attachments, trace headers, references
_XML_UNIT = re.compile(rb"<((?:\w+:)?(?:To|Attachment|Reference|TraceHeader|Place))\b[^>]*>.*?</\1>", re.S)
_TEXT = re.compile(rb">([^<>]{1,200})<")


def _fill(unit: bytes, room: int, share: float) -> bytes:
    return unit * max(1, int(room * share) // max(len(unit), 1))


@st.composite
def grown_xml(draw, seeds: list[bytes]) -> bytes:
    raw = draw(st.sampled_from(seeds))
    room = MAX_BYTES - len(raw)
    share = draw(st.floats(0.05, 1.0))
    how = draw(st.sampled_from(["repeat", "text", "nest"]))
    units = list(_XML_UNIT.finditer(raw))
    if how == "repeat" and units:
        m = draw(st.sampled_from(units))
        return raw[:m.start()] + _fill(m.group(0), room, share) + raw[m.end():]
    texts = list(_TEXT.finditer(raw))
    if how == "text" and texts:
        m = draw(st.sampled_from(texts))
        filler = draw(st.sampled_from([b"x\xc6\xb0 ", b"a", b"0", b"a.b@"]))  # runs without spaces too
        return raw[:m.start(1)] + _fill(filler, room, share) + raw[m.end(1):]
    depth = int(room * share) // 8
    cut = raw.rfind(b"</")
    return raw[:cut] + b"<a>" * depth + b"</a>" * depth + raw[cut:]


def _objects(doc):
    if isinstance(doc, list):
        return doc
    for key in ("data", "HoSo", "QuaTrinhXuLy", "events"):
        if isinstance(doc, dict) and isinstance(doc.get(key), list | dict):
            inner = doc[key]
            return inner if isinstance(inner, list) else [inner]
    return [doc]


@st.composite
def grown_json(draw, seeds: list[bytes]) -> bytes:
    raw = draw(st.sampled_from(seeds))
    objs = [o for o in _objects(json.loads(raw.decode("utf-8-sig"))) if isinstance(o, dict)]
    share = draw(st.floats(0.05, 1.0))
    how = draw(st.sampled_from(["items", "text", "list", "nest"]))
    if how == "items":
        one = json.dumps(objs, ensure_ascii=False).encode()
        return b"[" + b",".join([one[1:-1]] * max(1, int(MAX_BYTES * share) // len(one))) + b"]"
    obj = dict(draw(st.sampled_from(objs)))
    key = draw(st.sampled_from(sorted(obj) or ["x"]))
    if how == "text":
        obj[key] = "Đ" * (int(MAX_BYTES * share) // 3)
    elif how == "list":
        obj[key] = [f"000.{i % 100:02d}.{i % 997:03d}.H41" for i in range(int(MAX_BYTES * share) // 20)]
    else:
        depth = min(int(MAX_BYTES * share) // 12, 4000)
        return b'{"data":' * depth + json.dumps(obj).encode() + b"}" * depth
    return json.dumps([obj] if draw(st.booleans()) else obj, ensure_ascii=False).encode()


@st.composite
def grown_csv(draw, seeds: list[bytes]) -> bytes:
    raw = draw(st.sampled_from(seeds)).decode("utf-8-sig")
    header, _, rows = raw.partition("\n")
    rows = rows or "\n"
    share = draw(st.floats(0.05, 1.0))
    if draw(st.booleans()):
        return (header + "\n" + rows * max(1, int(MAX_BYTES * share) // len(rows.encode()))).encode()[:MAX_BYTES]
    return (header + "\n" + "x" * int(MAX_BYTES * share) + "\n").encode()


def _grown(fmt: str, kind: str):
    seeds = SEEDS[(fmt, kind)]
    if fmt in ("edxml", "edoc-go"):
        return grown_xml(seeds)
    return grown_csv(seeds) if fmt == "csv" else grown_json(seeds)


@pytest.mark.parametrize(("fmt", "kind"), FORMATS, ids=[f"{f}-{k}" for f, k in FORMATS])
def test_payloads_up_to_the_limit_end_well(fmt, kind):
    """Payloads up to 1 MiB (24k recipients, tens of thousands of rows, huge texts, deep nesting) end
    as encodable records or a reason code, too_expensive included."""
    _property(fmt, kind, _grown(fmt, kind), LARGE)()


# -- rejection messages: the field and the rule, never the value -------------------------------
SENTINELS = st.sampled_from(["064190099887", "0905 888 777", "an.nguyen@example.vn", "Nguyễn Văn Sentinel",
                             "Thôn Sentinel, xã Ia Ly", "2025-13-45 064190099887"])


@st.composite
def planted(draw, fmt: str, kind: str) -> tuple[bytes, str]:
    """A fixture with one value replaced by a personal-looking sentinel."""
    raw = draw(st.sampled_from(SEEDS[(fmt, kind)]))
    sentinel = draw(SENTINELS)
    if fmt in ("edxml", "edoc-go"):
        m = draw(st.sampled_from(list(_TEXT.finditer(raw))))
        return raw[:m.start(1)] + sentinel.encode() + raw[m.end(1):], sentinel
    if fmt == "csv":
        text = raw.decode("utf-8-sig")
        cells = [m for m in re.finditer(r"(?<=[;,\n])[^;,\n\"]+(?=[;,\r\n])", text)]
        m = draw(st.sampled_from(cells))
        return (text[:m.start()] + sentinel + text[m.end():]).encode(), sentinel
    doc = json.loads(raw.decode("utf-8-sig"))
    obj = draw(st.sampled_from([o for o in _objects(doc) if isinstance(o, dict)]))
    obj[draw(st.sampled_from(sorted(obj)))] = sentinel
    return json.dumps(doc, ensure_ascii=False).encode(), sentinel


def _no_echo_property(fmt: str, kind: str):
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=planted(fmt, kind), hint=HINTS)
    def prop(case: tuple[bytes, str], hint: str | None) -> None:
        raw, sentinel = case
        try:
            normalize(raw, envelope(fmt, kind, hint), context())
        except Rejected as exc:
            assert exc.reason in REASONS
            assert sentinel[:12] not in exc.message, exc.message  # not even the start of it

    return prop


@pytest.mark.parametrize(("fmt", "kind"), FORMATS, ids=[f"{f}-{k}" for f, k in FORMATS])
def test_rejection_messages_never_echo_a_value(fmt, kind):
    """Whatever field a personal value lands in, a rejection names the field and the rule, not the value."""
    _no_echo_property(fmt, kind)()
