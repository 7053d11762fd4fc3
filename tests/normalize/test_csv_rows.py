"""CSV file drops: BOM, Excel quoting, delimiters, Vietnamese / English / DVCQG headers."""

from __future__ import annotations

import pytest

from hub.errors import Rejected
from hub.normalize import normalize

from .support import cases_in, check_case, context, envelope

CASES = cases_in("csv")


def _run(text: str | bytes, hint: str | None = "23734") -> list[dict]:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return normalize(raw, envelope("csv", "dossier", hint), context())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture(case):
    """Each CSV fixture normalizes to exactly its expected records."""
    check_case(case)


def test_fixtures_cover_bom_and_both_header_languages():
    """One fixture has a BOM and Vietnamese headers, another English headers."""
    raws = {c.name: c.raw for c in CASES}
    assert raws["csv/dossiers_vi_bom.csv"].startswith(b"\xef\xbb\xbf")
    assert b'""' in raws["csv/dossiers_vi_bom.csv"] and b"\r\n" in raws["csv/dossiers_vi_bom.csv"]
    assert raws["csv/dossiers_en.csv"].startswith(b"event_id,")


def test_headers_match_without_case_or_diacritics():
    """``MA HO SO``, ``trang thai`` and DVCQG names match like the Vietnamese headers."""
    [rec] = _run("MA HO SO\ttrang thai\tNgayTiepNhan\nHS-9\tĐang xử lý\t20251201080000\n")
    assert (rec["dossier_code"], rec["status"], rec["received_at"]) == ("HS-9", "PROCESSING", 1764550800000)


def test_nfd_headers_and_values_are_normalized():
    """Decomposed (NFD) Vietnamese from Windows tools matches and is stored as NFC."""
    import unicodedata
    text = unicodedata.normalize("NFD", "Mã hồ sơ;Trạng thái;Tên TTHC\nHS-1;Mới đăng ký;Đăng ký khai sinh\n")
    [rec] = _run(text)
    assert rec["status"] == "NEWLY_REGISTERED" and rec["procedure_name"] == "Đăng ký khai sinh"


def test_blank_rows_are_skipped_and_rows_get_distinct_ids():
    """Blank lines are ignored; rows without an event id still get distinct event ids."""
    records = _run("Mã hồ sơ,Trạng thái\nA,1\n\n,\nB,2\n")
    assert [r["dossier_code"] for r in records] == ["A", "B"]
    assert records[0]["event_id"] != records[1]["event_id"]


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", "malformed_csv"),
    (b"foo,bar\n1,2\n", "malformed_csv"),
    (b"M\xe3 h\xf4 s\xf4,Tr\xe1ng th\xe1i\nA,1\n", "bad_encoding"),
    ("Mã hồ sơ,Trạng thái\n".encode(), "missing_field"),
    ('Mã hồ sơ,Trạng thái\n"A,1\n'.encode(), "malformed_csv"),
    ("Mã hồ sơ,Trạng thái\nA,\n".encode(), "missing_field"),
])
def test_bad_files_are_reason_codes(raw, reason):
    """Empty, headerless, non-UTF-8, row-less, badly quoted or incomplete files are reason codes."""
    with pytest.raises(Rejected) as info:
        _run(raw)
    assert info.value.reason == reason


def test_row_errors_name_the_row():
    """A bad value says which spreadsheet row it is on."""
    with pytest.raises(Rejected) as info:
        _run("Mã hồ sơ,Trạng thái,Ngày tiếp nhận\nA,1,01/12/2025\nB,1,32/12/2025\n")
    assert info.value.reason == "bad_date" and info.value.message.startswith("row 3:")
