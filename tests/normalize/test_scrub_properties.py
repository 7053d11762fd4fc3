"""Property tests of the scrubber: ID numbers, phones and e-mails in any grouping, punctuation or Unicode
form leave free text as placeholders, and nothing else in the text changes.

Unit level: ``scrub(before + datum + after) == before + placeholder + after`` for a generated datum between
generated Vietnamese free text (words and legitimate numbers: document numbers, dates, amounts, organ ids).
Integration level: a datum written into each free-text field that travels, in a real fixture, reaches
neither the canonical records (``normalize``), nor — through the normalize processor, no broker — the
feed values, the ``hub.error.*`` headers of a dead letter or a log line.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import unicodedata
from unittest import mock

import pytest
import structlog
from fixtures.load import cases
from fixtures.load import organs as fixture_organs
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from hub import reference
from hub.contract import headers as h
from hub.engine.testing import FakeBatch, FakeMessage
from hub.errors import Rejected
from hub.normalize.context import Scope
from hub.normalize.personal_data import scrub
from hub.processors import normalize as pipeline_normalize
from hub.processors.normalize import NormalizeProcessor
from hub.settings import Settings

from .support import INGEST_MS, run

PROFILE = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_PROFILE = settings(max_examples=25, deadline=None, database=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

WORDS = ["Về", "việc", "đề", "nghị", "hỗ", "trợ", "xã", "Ia", "Ly", "hồ", "sơ", "liên", "hệ", "số", "điện", "thoại",
         "CCCD", "CMND", "MST", "SĐT", "gọi", "thư", "ngày", "theo", "kế", "hoạch", "đợt", "giải", "ngân", "ông", "bà",
         "công", "chức", "tư", "pháp", "Email:", "ĐT:", "và", "hoặc"]
# Legitimate content that must come out of scrub unchanged, wherever it stands.
KEPT = ["173/2025/NĐ-CP", "05/12/2025", "12.500.000 đồng", "766/QĐ-TTg", "000.23.734.H41",
        "000.23.734.H41-251112-0034", "45,5%", "2025", "100%", "1234/UBND-KGVX", "27/11/2025", "2.400.000.000 VNĐ",
        "3,5 tỷ", "20251127083000", "12/QĐ-UBND", "1.001612", "135", "2025-12-05", "05/12/2025-10/12/2025",
        "1.500 triệu", "100 000 000 đồng", "G09-TP03", "61/2018/NĐ-CP", "08:30", "2024-2025",
        "G09-TP03 100 000 000 đồng", "2025-12-05 100 000 000 đồng", "G09-TP03 2025 2025"]  # found by hypothesis
FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789+()-./"} | {" ": "\u3000"}
LETTERS = "abcdefghijklmnopqrstuvwxyzàáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ"


def digits_of(n: int, lo: int = 0) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n).filter(lambda s: int(s[:1] or 0) >= lo)


ID_NUMBERS = st.one_of(
    st.tuples(st.integers(1, 96), digits_of(9)).map(lambda t: f"0{t[0]:02d}{t[1]}"),  # citizen identity card
    st.tuples(st.sampled_from("0123"), digits_of(8)).map("".join),  # old identity card
    st.tuples(st.sampled_from("123456789"), digits_of(9)).map("".join),  # tax code
    st.tuples(st.sampled_from("123456789"), digits_of(9), digits_of(3)).map("".join),  # tax code and branch
)
PHONES = st.one_of(
    st.tuples(st.sampled_from(["03", "05", "07", "08", "09"]), digits_of(8)).map("".join),  # mobile
    st.tuples(st.sampled_from(["0203", "0269", "024", "028"]), digits_of(7)).map(lambda t: (t[0] + t[1] + "0")[:11]),
)


@st.composite
def grouped(draw, digits: str, seps: str = " .-/") -> str:
    """``digits`` cut into groups of 1-5 digits, joined by one separator."""
    sep, groups, i = draw(st.sampled_from(seps)), [], 0
    while i < len(digits):
        size = draw(st.integers(1, 5))
        groups.append(digits[i:i + size])
        i += size
    return sep.join(groups)


@st.composite
def id_number(draw) -> tuple[str, str]:
    """(as written, its digits)."""
    digits = draw(ID_NUMBERS)
    return draw(grouped(digits)), digits


@st.composite
def phone(draw) -> tuple[str, str]:
    """(as written, its digits without the trunk 0): 0905/111/222, (0905) 111 222, (+84) 905 111 222, +84.905..."""
    digits = draw(PHONES)
    national = digits[1:]
    form = draw(st.sampled_from(["plain", "paren", "plus", "plus_paren", "84"]))
    if form == "plain":
        written = draw(grouped(digits))
    elif form == "paren":
        head = draw(st.integers(3, 4))
        written = f"({digits[:head]})" + draw(st.sampled_from(["", " ", "-", "."])) + draw(grouped(digits[head:]))
    else:
        prefix = {"plus": "+84", "plus_paren": "(+84)", "84": "84"}[form]
        written = prefix + draw(st.sampled_from(["", " ", ".", "-"])) + draw(grouped(national))
    return written, national


@st.composite
def email(draw) -> tuple[str, str]:
    """(as written, its local part), with Vietnamese letters, digits, dots, IDN domains, full-width @."""
    label = st.text(LETTERS + "0123456789", min_size=1, max_size=8)
    local = draw(st.lists(label, min_size=1, max_size=3).map(".".join).filter(lambda s: len(s) >= 4))
    domain = draw(st.lists(st.text(LETTERS, min_size=2, max_size=8), min_size=1, max_size=3).map(".".join))
    tld = draw(st.sampled_from(["vn", "com", "gov.vn", "com.vn", "việtnam"]))
    at = draw(st.sampled_from(["@", "\uff20", "\ufe6b"]))
    return f"{local}{at}{domain}.{tld}", local


@st.composite
def datum(draw) -> tuple[str, str, set[str]]:
    """(as written, what must not survive, the placeholders it may become)."""
    kind = draw(st.sampled_from(["id", "phone", "email"]))
    if kind == "email":
        written, secret = draw(email())
        return written, secret, {"[email]"}
    written, secret = draw(id_number() if kind == "id" else phone())
    if draw(st.booleans()):  # full-width digits and punctuation, as typed with an East Asian input method
        written = "".join(FULL_WIDTH.get(c, c) for c in written)
    return written, secret, {"[id]", "[phone]"}


# Items joined by a comma: two numbers glued by a single space are one digit run the rule may read as one
# datum on purpose (docs: "a year glued to an id may be read into it"), so "2025 2025 45,5%" is no filler.
FILLER = st.lists(st.sampled_from(WORDS + KEPT), max_size=8).map(", ".join)
WRAPS = st.sampled_from([("", ""), ("(", ")"), ("", ","), ("", "."), ("", ";"), ('"', '"')])


def joined_digits(text: str) -> str:
    """Digits of ``text`` folded to ASCII, with the separators between digits removed (any grouping)."""
    folded = "".join(str(unicodedata.decimal(c, "")) if c.isdigit() else c for c in unicodedata.normalize("NFKC", text))
    return re.sub(r"(?<=\d)[\s.\-/()+]+(?=\d)", "", folded)


@pytest.mark.parametrize("text", KEPT)
def test_legitimate_numbers_survive_unchanged(text):
    """Document numbers, dates, amounts with a currency word, organ ids, dossier codes, percentages, years."""
    assert scrub(f"Theo {text} của UBND") == f"Theo {text} của UBND"


@given(before=FILLER, left=st.sampled_from(WORDS), item=datum(), wrap=WRAPS, right=st.sampled_from(WORDS),
       after=FILLER)
@PROFILE
def test_a_datum_in_free_text_becomes_one_placeholder_and_nothing_else_changes(before, left, item, wrap, right,
                                                                                after):
    """Only the datum is replaced, by one placeholder; its digits or local part are gone, the text around stays."""
    written, secret, labels = item
    head, tail = f"{before} {left} {wrap[0]}", f"{wrap[1]} {right} {after}"
    out = scrub(head + written + tail)
    assert out in {head + label + tail for label in labels}, (head + written + tail, out)
    # The kept text may hold the same digits (an amount "100000000 đồng" beside the phone 1 0 0 0 00000):
    # what must be gone is the datum, so the check is on what replaced it.
    middle = out[len(head):len(out) - len(tail)]
    assert secret not in joined_digits(middle) and secret not in middle


# -- integration: every free-text field that travels ------------------------------------------------
CASES = {c.name: c for c in cases()}


def _json_field(path: tuple, value: str):
    def put(raw: bytes, text: str) -> bytes:
        doc = json.loads(raw)
        target = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value.replace("{}", text)
        return json.dumps(doc, ensure_ascii=False).encode()
    return put


def _replace(old: str):
    def put(raw: bytes, text: str) -> bytes:
        assert old.encode() in raw
        return raw.replace(old.encode(), f"Về việc cử cán bộ, liên hệ {text}".encode(), 1)
    return put


# (fixture, where the text goes): every publisher free-text field the feeds carry (the schemas' scrubbed
# fields: subject, procedure_name, handling_unit, handler_role, indicator_name, document_number, note).
FREE_TEXT = {
    "document.subject": ("hub_json/document_directive.json", _json_field(("subject",), "Về việc số hóa, gọi {}")),
    "document.subject (edXML)": ("edxml/official_subject_with_contacts.xml",
                                 _replace("Về việc cử công chức dự tập huấn; liên hệ 0913.222.444 hoặc "
                                          "taphuan.snv@gialai.gov.vn, mã hồ sơ 064203009988")),
    "dossier.procedure_name": ("hub_json/dossiers.json", _json_field((0, "procedure_name"), "Khai sinh {}")),
    "dossier.handling_unit": ("hub_json/dossiers.json", _json_field((0, "handling_unit"), "Một cửa, {}")),
    "dossier.handler_role": ("hub_json/dossiers.json", _json_field((2, "handler_role"), "Công chức {} tư pháp")),
    "dossier.TenTTHC": ("dvcqg/dossiers_batch.json", _json_field((0, "TenTTHC"), "Đăng ký khai sinh {}")),
    "dossier.DonViXuLy": ("dvcqg/dossiers_batch.json", _json_field((0, "DonViXuLy"), "Bộ phận Một cửa ({})")),
    "dossier.ChucDanh": ("dvcqg/progress_records.json",
                         _json_field(("QuaTrinhXuLy", 0, "ChucDanh"), "Công chức địa chính {}")),
    "dossier.PhongBanXuLy": ("dvcqg/progress_records.json",
                             _json_field(("QuaTrinhXuLy", 0, "PhongBanXuLy"), "Phòng Kinh tế, {}")),
    "target.indicator_name": ("hub_json/targets.json", _json_field((0, "indicator_name"), "Giải ngân vốn {}")),
    "target.document_number": ("hub_json/targets.json", _json_field((0, "document_number"), "12/QĐ-UBND {}")),
    "target.note": ("hub_json/targets.json", _json_field((1, "note"), "Số liệu kho bạc; hỏi {}")),
    "target.note (CSV)": ("csv/targets_vi_bom.csv", lambda raw, text: raw.replace(
        "Theo danh sách rà soát, gọi 0905 123 456".encode(), f"Theo danh sách rà soát, gọi {text}".encode())),
}
# A datum in a field that makes the record rejected: the dead letter and the log line must not echo it.
REJECTING = {
    "dossier.status": ("hub_json/dossiers.json", _json_field((0, "status"), "{}")),
    "dossier.received_at": ("hub_json/dossiers.json", _json_field((0, "received_at"), "ngày {}")),
    "target.program": ("hub_json/targets.json", _json_field((0, "program"), "{}")),
    "target.as_of": ("hub_json/targets.json", _json_field((1, "as_of"), "{}")),
    "target.commune_code": ("hub_json/targets.json", _json_field((1, "commune_code"), "{}")),
    "target.note too long": ("hub_json/targets.json", _json_field((1, "note"), "Ghi chú {} " + "x" * 1000)),
    "dossier.MucDo": ("dvcqg/dossiers_batch.json", _json_field((0, "MucDo"), "{}")),
}


# The hub's ids (event_id; a content-derived source_event_id): 32 hex of a SHA-256 of the *scrubbed* record.
# They hold nothing of the datum, but an e-mail local part made of hex ("2dc2") can occur in them by chance.
_HEX_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def _leaks(secret: str, texts: list[str], baseline: list[str]) -> list[str]:
    """The texts holding ``secret``; an example whose secret the output holds anyway (the fixture's own
    3000000000 holds 000000000) tells nothing and is discarded. The hub's 32-hex ids are blanked first."""
    texts = [_HEX_ID.sub("", t) for t in texts]
    baseline = [_HEX_ID.sub("", t) for t in baseline]
    if baseline:  # a baseline is given only inside property tests (assume() outside one is deprecated)
        assume(not any(secret in t or secret in joined_digits(t) for t in baseline))
    return [t for t in texts if secret in t or secret in joined_digits(t)]


@pytest.mark.parametrize("field", sorted(FREE_TEXT))
@given(item=datum())
@SLOW_PROFILE
def test_no_datum_in_a_free_text_field_reaches_the_canonical_record(field, item):
    """normalize() of a real fixture with the datum in the field: no record holds its digits or local part."""
    written, secret, _labels = item
    name, put = FREE_TEXT[field]
    case = dataclasses.replace(CASES[name], raw=put(CASES[name].raw, written))
    records = run(case)
    baseline = run(dataclasses.replace(case, raw=put(CASES[name].raw, "xyz")))
    assert records
    assert not _leaks(secret, [json.dumps(r, ensure_ascii=False) for r in records],
                      [json.dumps(r, ensure_ascii=False) for r in baseline])


class _Systems:
    """Every commune of the country, every kind, the fixture organ directory (all registered to the system):
    scope checks pass."""

    class snapshot:  # noqa: N801 - stands for the follower's attribute
        organs: dict = fixture_organs()
        _scope = Scope(frozenset(reference.communes()), frozenset({"dossier", "document", "target"}),
                       frozenset(fixture_organs()) | {"000.00.00.H41", "000.23.734.H41"})

        @classmethod
        def scope(cls, _system: str) -> Scope:
            return cls._scope

        @staticmethod
        def get(_system: str) -> None:
            return None

    @staticmethod
    def refresh_now(timeout_s=None):
        return _Systems.snapshot


SETTINGS = Settings.from_env(env={}, dev_mode=True, log_level="DEBUG")
DLQ = NormalizeProcessor(SETTINGS, _Systems).dlq
TOPIC_OF = {kind: topic for topic, kind in NormalizeProcessor(SETTINGS, _Systems).kind_of.items()}


def _texts(batch: FakeBatch, logs: list[dict]) -> list[str]:
    """Feed values, hub.error.* headers of dead letters and log lines (the DLQ value is the original bytes)."""
    texts = [s[2].decode("utf-8", "replace") for s in batch.sent if s[0] != DLQ]
    texts += [v.decode("utf-8", "replace") for s in batch.sent if s[0] == DLQ for k, v in s[3]
              if k.startswith("hub.error.")]
    return texts + [json.dumps(entry, ensure_ascii=False, default=str) for entry in logs]


def _through_the_processor(name: str, raw: bytes) -> tuple[FakeBatch, list[dict]]:
    case = CASES[name]
    hdrs = [(h.SOURCE, b"prop-system"), (h.FORMAT, case.format.encode()), (h.TRACE_ID, b"trace-prop")]
    if case.commune_hint:
        hdrs.append((h.COMMUNE, case.commune_hint.encode()))
    batch = FakeBatch([FakeMessage(TOPIC_OF[case.kind], raw, b"k", hdrs, _offset=7, _timestamp_ms=INGEST_MS)])
    processor = NormalizeProcessor(SETTINGS, _Systems)  # a new one each time: rejection lines are rate-limited
    # The module's logger may be cached, filtered at INFO, by an earlier hub.log.configure(): a logger of every
    # level, through the configured processors (which capture_logs swaps for its capture), stands in for it.
    every_level = structlog.wrap_logger(None, wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
                                        cache_logger_on_first_use=False)
    with mock.patch.object(pipeline_normalize, "logger", every_level), structlog.testing.capture_logs() as logs:
        processor.process(batch)
        batch.commit()
    return batch, logs


@pytest.mark.parametrize("field", sorted(FREE_TEXT) + sorted(REJECTING))
@given(item=datum())
# A target note's ids are hashes of "... hỏi [email]": 2dc29649..., 1d376f4b...; these local parts sit in them
# (the test failed once in a full run on such a chance match, not on a leak).
@example(item=("2dc2@ví.vn", "2dc2", {"[email]"}))
@example(item=("4b2b@ví.vn", "4b2b", {"[email]"}))
@SLOW_PROFILE
def test_no_datum_reaches_a_feed_value_a_dead_letter_header_or_a_log_line(field, item):
    """Through the normalize processor: feed values, hub.error.* headers and every log line are free of it."""
    written, secret, _labels = item
    rejecting = field in REJECTING
    name, put = (REJECTING if rejecting else FREE_TEXT)[field]
    batch, logs = _through_the_processor(name, put(CASES[name].raw, written))
    dead = [s for s in batch.sent if s[0] == DLQ]
    assert len(dead) == int(rejecting), [(s[0], s[3]) for s in batch.sent]
    assert logs  # a line per decision: the capture saw the processor's lines
    baseline = _texts(*_through_the_processor(name, put(CASES[name].raw, "xyz")))
    assert not _leaks(secret, _texts(batch, logs), baseline)


def test_rejection_messages_of_the_rejecting_fields_never_echo_the_value():
    """The fields above do reject (so the DLQ property is not vacuous), with a message naming only the field."""
    for field, (name, put) in REJECTING.items():
        case = dataclasses.replace(CASES[name], raw=put(CASES[name].raw, "0905 111 222"))
        with pytest.raises(Rejected) as info:
            run(case)
        # the whole number, in any grouping (a bare "905" could be part of a timestamp or an id)
        assert not re.search(r"0?905\D{0,3}111\D{0,3}222", info.value.message), field


# Free text that travelled unscrubbed until the scrubber's review (document type names, free target units).
SCRUBBED_LATE = {  # free text that was copied verbatim until the scrubber's review
    "document.document_type_name": ("hub_json/document_directive.json",
                                    _json_field(("document_type_name",), "Công văn, gọi {}")),
    "target.unit": ("hub_json/targets.json", _json_field((0, "unit"), "{}")),
}


@pytest.mark.parametrize("field", sorted(SCRUBBED_LATE))
def test_document_type_names_and_free_target_units_are_scrubbed(field):
    """A phone or an e-mail in a document's type name or a target's free unit never reaches the record."""
    name, put = SCRUBBED_LATE[field]
    for written, secret in (("0905 111 222", "0905111222"), ("an@ví-dụ.vn", "an@")):
        case = dataclasses.replace(CASES[name], raw=put(CASES[name].raw, written))
        assert not _leaks(secret, [json.dumps(r, ensure_ascii=False) for r in run(case)], [])
