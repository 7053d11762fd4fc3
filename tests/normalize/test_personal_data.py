"""No personal datum present in any fixture input survives normalization."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fixtures.load import cases
from fixtures.load import personal_data as listed_personal_data

from hub.normalize import Context, personal_data
from hub.settings import Settings

from .support import run

DATA = listed_personal_data()
ACCEPTED = [c for c in cases() if not c.reject]


def test_every_listed_datum_is_really_in_the_inputs():
    """The list is not stale: each datum occurs in some fixture input (CSV quotes doubled)."""
    inputs = "\n".join(c.raw.decode("utf-8-sig") for c in cases())
    missing = [d for d in DATA if d not in inputs and d.replace('"', '""') not in inputs]
    assert not missing


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
def test_no_personal_datum_in_normalized_records(case):
    """Names, ID numbers, phones, emails, addresses and free text are absent from every record."""
    text = json.dumps(run(case), ensure_ascii=False)
    leaked = [d for d in DATA if d in text]
    assert not leaked, f"{case.name} leaks {leaked}"


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def test_hkdf_matches_rfc_5869_test_case_1():
    """The key derivation is HKDF-SHA256 as specified (RFC 5869, appendix A.1)."""
    okm = personal_data.hkdf_sha256(bytes([0x0B] * 22), bytes(range(0xF0, 0xFA)), 42, salt=bytes(range(13)))
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                         "34007208d5b887185865")


def test_derived_keys_are_separate_per_purpose_and_carry_their_key_id():
    """From one master key, applicant and handler pseudonyms use different HKDF keys, each with a fingerprint id."""
    master = b"deployment-master-secret"
    ctx = Context(province="52", pseudonym_key=master)
    applicant_key = _hmac(_hmac(bytes(32), master), b"hub/pseudonym/applicant\x01")
    handler_key = _hmac(_hmac(bytes(32), master), b"hub/pseudonym/handler\x01")
    assert ctx.applicant(" 064 190 012 345 ") == {
        "applicant_pseudonym": hmac.new(applicant_key, b"064190012345", hashlib.sha256).hexdigest(),
        "applicant_pseudonym_key_id": "k" + hmac.new(applicant_key, b"hub/pseudonym/key-id",
                                                     hashlib.sha256).hexdigest()[:8]}
    assert ctx.handler("canbo.ialy") == {
        "handler_pseudonym": hmac.new(handler_key, b"CANBO.IALY", hashlib.sha256).hexdigest(),
        "handler_pseudonym_key_id": "k" + hmac.new(handler_key, b"hub/pseudonym/key-id",
                                                   hashlib.sha256).hexdigest()[:8]}
    assert ctx.pseudonym("x", "applicant") != ctx.pseudonym("x", "handler")
    assert ctx.applicant(None) == {"applicant_pseudonym": None, "applicant_pseudonym_key_id": None}


def test_explicit_keys_and_ids_from_settings_replace_the_derived_ones():
    """HUB_*_PSEUDONYM_KEY(_ID) set one purpose's key and id; rotating one leaves the other unchanged."""
    s = Settings.from_env(env={"HUB_PSEUDONYM_KEY": "master", "HUB_APPLICANT_PSEUDONYM_KEY": "applicant-2026",
                               "HUB_APPLICANT_PSEUDONYM_KEY_ID": "a-2026"})
    ctx = Context.from_settings(s)
    assert ctx.applicant("064190012345") == {
        "applicant_pseudonym": hmac.new(b"applicant-2026", b"064190012345", hashlib.sha256).hexdigest(),
        "applicant_pseudonym_key_id": "a-2026"}
    before = Context.from_settings(Settings.from_env(env={"HUB_PSEUDONYM_KEY": "master"}))
    assert ctx.handler("canbo.ialy") == before.handler("canbo.ialy")


@pytest.mark.parametrize(("text", "expected"), [
    ("Liên hệ 0905111222 hoặc 0905.111.222 hoặc 0905 111 222", "Liên hệ [phone] hoặc [phone] hoặc [phone]"),
    ("Gọi +84 388 765 432, (+84) 905-111-222 hay 84905111222", "Gọi [phone], [phone] hay [phone]"),
    ("Máy bàn 02693823555; CCCD 064190012345; CMND 230456789", "Máy bàn [phone]; CCCD [id]; CMND [id]"),
    ("MST 5900123456 và 5900123456-001", "MST [id] và [id]"),
    ("Thư gửi hang.rocham@gmail.com, vanthu.ubnd@gialai.gov.vn", "Thư gửi [email], [email]"),
    ("Công văn số 1234/UBND-KGVX ngày 27/11/2025, hỗ trợ 100.000.000 đồng cho 135 xã",
     "Công văn số 1234/UBND-KGVX ngày 27/11/2025, hỗ trợ 100.000.000 đồng cho 135 xã"),
    ("Năm 2025, mã 20251127083000 giữ nguyên", "Năm 2025, mã 20251127083000 giữ nguyên"),
])
def test_scrub_replaces_ids_phones_and_emails_only(text, expected):
    """ID numbers (9, 10, 12 digits), Vietnamese phones (spaces, dots, +84) and e-mails become placeholders."""
    assert personal_data.scrub(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("CCCD 0641 9001 2345, 064.190.012.345, 064-190-012-345, 064 190 012 345, 064/190/012/345",
     "CCCD [id], [id], [id], [id], [id]"),
    ("MST 5900 123 456, 59.0012.3456.001; CMND 230 456 789", "MST [id], [id]; CMND [id]"),
    ("Gọi 0905/111/222, (0905) 111 222, (+84) 905 111 222, +84.905.111.222, 0905-111-222",
     "Gọi [phone], [phone], [phone], [phone], [phone]"),
    ("ĐT ０９０５ １１１ ２２２ hoặc ＋８４ ９０５ １１１ ２２２", "ĐT [phone] hoặc [phone]"),
    ("Thư nguyễn.văn@ví-dụ.vn, an＠gmail.com, ｌｅ＠ｘｙ．ｖｎ", "Thư [email], [email], [email]"),
    ("SĐT 0905111222 0913888999; 0905111222-0913888999", "SĐT [phone] [phone]; [phone]-[phone]"),
    ("ngày 05/12/2025 0905111222, CCCD064190012345 đồng thời", "ngày 05/12/2025 [phone], CCCD[id] đồng thời"),
    ("Giải ngân 2.400.000.000 đồng; 2.400.000.000 chưa rõ", "Giải ngân 2.400.000.000 đồng; [id] chưa rõ"),
    ("m² ½ 0905111222 ﬁ", "m² ½ [phone] ﬁ"),  # no normalization outside the datum
])
def test_scrub_reads_grouped_punctuated_and_unicode_forms(text, expected):
    """Any grouping by space, dot, dash or slash, (0905)/(+84) openings, full-width forms and Unicode e-mails;
    an amount without a currency word that has an id's length is scrubbed (privacy first)."""
    assert personal_data.scrub(text) == expected


KEPT = "173/2025/NĐ-CP ngày 05/12/2025, 12.500.000 đồng, 766/QĐ-TTg, 000.23.734.H41, 000.23.734.H41-251112-0034, " \
    "45,5%, năm 2025, 100 000 000 VNĐ, 3,5 tỷ, 1.001612 135, 05/12/2025-10/12/2025, 20251127083000"


def test_scrub_keeps_document_numbers_dates_amounts_and_codes():
    """Legitimate numbers in free text survive unchanged (the rule's "Kept" list)."""
    assert personal_data.scrub(KEPT) == KEPT


ORGAN, COMMUNE = "000.00.00.H41", "000.23.734.H41"


@pytest.mark.parametrize(("sender", "recipients", "type_name", "subject", "travels"), [
    (ORGAN, [COMMUNE], "Công văn", "Về việc đẩy mạnh số hóa hồ sơ", True),
    ("000.00.00.G12", [COMMUNE], "Quyết định", "Về việc phân bổ kinh phí", True),  # a ministry: valid organ id
    (ORGAN, [COMMUNE], None, "Về việc đẩy mạnh số hóa hồ sơ", True),
    (ORGAN, [COMMUNE], "Đơn", "Đơn đề nghị cấp đất", False),
    (ORGAN, [COMMUNE], "Đơn khiếu nại", "Khiếu nại về bồi thường", False),
    (ORGAN, [COMMUNE], "Tố cáo", "Tố cáo cán bộ", False),
    (ORGAN, [COMMUNE], "Giấy giới thiệu", "Giới thiệu công chức đến liên hệ", False),
    (ORGAN, [COMMUNE], "Công văn", "V/v chuyển đơn của bà Rơ Châm Thị Hằng", False),
    (ORGAN, [COMMUNE], "Công văn", "Hỗ trợ công dân Nguyễn Đình Phúc", False),
    (ORGAN, [COMMUNE], "Công văn", "Tuyên truyền để bà con biết", True),  # no name after the honorific
    ("Nguyễn Văn An", [COMMUNE], "Công văn", "Đề nghị", False),  # not a state organ
    (None, [COMMUNE], "Công văn", "Đề nghị", False),
    (ORGAN, [], "Công văn", "Đề nghị", False),
    (ORGAN, [COMMUNE, "nguyenvanan@gmail.com"], "Công văn", "Đề nghị", False),
    ("000.23.999.X01-private", [COMMUNE], "Công văn", "Đề nghị", False),
])
def test_which_subjects_may_travel(sender, recipients, type_name, subject, travels):
    """Only a state organ's official document to other organs, naming no person, keeps its subject."""
    assert personal_data.subject_may_travel(sender, recipients, type_name, subject, {}) is travels


def test_directory_entries_count_as_state_organs():
    """An OrganId known to the organ directory is a state organ even in a local numbering scheme."""
    assert personal_data.subject_may_travel("UBND-IALY", ["UBND-TINH"], "Công văn", "Đề nghị",
                                            {"UBND-IALY": "23734", "UBND-TINH": "52"})


def test_withheld_subjects_travel_when_the_deployment_allows_it():
    """HUB_CITIZEN_DOCUMENT_SUBJECTS carries a citizen document's subject, still scrubbed."""
    rec = {"from_organ_id": "Nguyễn Văn An", "to_organ_ids": [COMMUNE], "subject": "Đơn, gọi 0905111222"}
    assert personal_data.subject_fields(rec, {}, False) == {"subject": None, "subject_withheld": True}
    assert personal_data.subject_fields(rec, {}, True) == {"subject": "Đơn, gọi [phone]", "subject_withheld": False}


@pytest.mark.timeout(120)  # linear: under a second for 5 MiB; the quadratic patterns took hours
@pytest.mark.parametrize("filler", ["a", "0", "a.b-", "ông ", "+84 ", "a@"])
def test_scrubbing_a_huge_subject_is_linear(filler):
    """Scrubbing a 1 MiB run of letters, digits or separators finishes (no pattern rescans a run from each position)."""
    text = filler * (1_048_576 // len(filler))
    assert len(personal_data.scrub(text)) >= len(text) // 2
    personal_data.names_a_person(text)


def test_hub_settings_never_prints_a_pseudonym_key(cli):
    """`hub settings` shows every pseudonym key as (set), never its value."""
    s = Settings.from_env(env={}, pseudonym_key="master-s3cret", applicant_pseudonym_key="applicant-s3cret",
                          handler_pseudonym_key="handler-s3cret", handler_pseudonym_key_id="h-2026")
    rc, out, _ = cli(s, "settings")
    assert rc == 0 and "s3cret" not in out
    assert "HUB_HANDLER_PSEUDONYM_KEY=(set)" in out and "HUB_HANDLER_PSEUDONYM_KEY_ID=h-2026" in out
