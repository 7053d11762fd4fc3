"""Target events (chỉ tiêu) from flat objects: hub-json target events and spreadsheet rows (CSV).

Keys are the English names of the TargetEvent fields (``docs/hub-json.schema.json``); CSV headers
reach them through :data:`CSV_ALIASES` (Vietnamese or English, matched without case or diacritics).

**Record type.** ``record_type`` (``TARGET_ASSIGNED`` / ``PROGRESS_REPORTED``, or a Vietnamese label);
unsaid, a row with an actual value is a progress report (communes' report sheets show the plan column
next to the cumulative actual: the plan column of a report is informational and not read), one with
only a target value an assignment.

**Numbers** (:func:`amount`), as Vietnamese and English spreadsheets write them:

- spaces between digit groups are ignored; a trailing ``%`` is allowed (the unit says what it means);
  a leading minus is ``invalid_value`` (values are never negative);
- ``.`` and ``,`` both present: the last one is the decimal separator, the other groups thousands
  (``1.234.567,5`` = ``1,234,567.5``);
- one of them, several times: thousands (``1.234.567.000`` = ``1,234,567,000``); groups must be of
  three digits;
- one of them, once: a decimal separator (``12,5`` = ``12.5``) — except before exactly three digits
  after 1-3 digits not starting with 0 (``1.234``, ``250,000``): thousands or decimals? That is
  ``ambiguous_number``: write ``1234``, ``1.234,0`` (thousands) or ``1,2340`` (decimals).

**Dates** (``as_of``, milestone dates) as elsewhere (dd/MM/yyyy, yyyy-MM-dd, yyyyMMdd, Vietnam time)
become ``YYYY-MM-DD``; they must fall within the plan year N or January N+1 (the month a plan of year
N may still be carried out). **Milestones**: a JSON array of ``{"date", "percent"}`` objects, or text
``30/06/2025: 50%; 30/09/2025: 75%`` (a CSV cell); dates strictly ascending, percentages above 0, at
most 100 and never decreasing; in the record each becomes ``{"date", "share"}`` with share = percent/100.

**Free text** (indicator names, document numbers, notes) is scrubbed of e-mails, phones and ID
numbers (:func:`hub.normalize.personal_data.scrub`); a note that names a person after an honorific
(``liên hệ ông Phan Văn …``) is dropped altogether, as a document subject would be.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hub.errors import Rejected
from hub.normalize import canonical, fields
from hub.normalize.context import Context
from hub.normalize.fields import fold
from hub.normalize.personal_data import names_a_person, scrub

MAX_VALUE = 10**15  # a commune's target never comes near; beyond it a double loses whole units
MAX_MILESTONES = 24
MAX_TEXT = 1000
_CODE = re.compile(r"^[^|\s][^|]{0,63}$")  # "|" separates the parts of the progress key
_PROVINCE_PROGRAM = re.compile(r"^(\d{2})(?:-[A-Z0-9_]{1,16})?$")
_GROUPS = re.compile(r"^[1-9]\d{0,2}$|^0$")
_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")
_MILESTONE = re.compile(r"^\s*(.+?)\s*[:=]\s*([0-9][0-9., ]*)\s*%?\s*$")

RECORD_TYPES = canonical.labels({
    "TARGET_ASSIGNED": ["giao chỉ tiêu", "giao", "assigned", "assignment", "kế hoạch"],
    "PROGRESS_REPORTED": ["báo cáo", "báo cáo tiến độ", "thực hiện", "report", "progress"],
})
# National target programs: a folded label containing the phrase names the program.
PROGRAM_PHRASES = {"NTM": ("nongthonmoi", "newrural"), "GNBV": ("giamngheo", "povertyreduction"),
                   "DTTS": ("dantocthieuso", "ethnicminorit", "dttsmn")}
UNITS = canonical.labels({
    "VND": ["VND", "VNĐ", "đồng", "đ"], "million_VND": ["triệu đồng", "trđ", "tr.đ", "million VND"],
    "household": ["hộ", "household", "households"], "criterion": ["tiêu chí", "criterion", "criteria"],
    "percent": ["phần trăm", "percent"], "person": ["người", "person", "people", "lượt người"],
    "project": ["công trình", "dự án", "project", "projects"], "km": ["km"], "ha": ["ha", "hecta", "héc ta"],
})
_UNIT_CODES = {"%": "percent"}  # fold() drops punctuation: "%" needs its own entry

# hub-json key -> CSV header spellings (folded with fields.fold)
CSV_ALIASES: dict[str, list[str]] = {
    "event_id": ["event_id", "Mã sự kiện", "MaSuKien"],
    "record_type": ["record_type", "Loại bản ghi", "Loại báo cáo"],
    "commune_code": ["commune_code", "Mã xã", "MaXa", "Mã đơn vị hành chính", "Mã ĐVHC"],
    "year": ["year", "Năm", "Năm kế hoạch"],
    "program": ["program", "Chương trình", "Mã chương trình"],
    "indicator_code": ["indicator_code", "Mã chỉ tiêu", "MaChiTieu"],
    "indicator_name": ["indicator_name", "Tên chỉ tiêu", "Chỉ tiêu", "Nội dung"],
    "unit": ["unit", "Đơn vị tính", "ĐVT", "Đơn vị"],
    "target_value": ["target_value", "Kế hoạch", "Kế hoạch giao", "Chỉ tiêu giao", "Giá trị giao", "Kế hoạch vốn"],
    "milestones": ["milestones", "Mốc tiến độ"],
    "document_number": ["document_number", "Số văn bản", "Số văn bản giao", "Số quyết định"],
    "assigned_at": ["assigned_at", "Ngày giao", "Ngày ban hành"],
    "actual_value": ["actual_value", "Thực hiện", "Lũy kế", "Lũy kế thực hiện", "Giá trị thực hiện",
                     "Lũy kế giải ngân", "Đã giải ngân", "Giải ngân"],
    "as_of": ["as_of", "Đến ngày", "Tính đến ngày", "Số liệu đến ngày", "Ngày báo cáo"],
    "note": ["note", "Ghi chú"],
    "event_time": ["event_time", "Ngày cập nhật", "Thời điểm báo cáo"],
}


def _reject(reason: str, key: str, rule: str) -> Rejected:
    return Rejected(reason, f"{key} {rule}", stage="map", field=key)


# -- numbers ---------------------------------------------------------------------------------------
def _thousands(groups: list[str], key: str) -> str:
    if not _GROUPS.match(groups[0]) or not all(len(g) == 3 and g.isdigit() for g in groups[1:]):
        raise _reject("invalid_value", key, "has a thousands separator between digit groups that are not of "
                      "three digits")
    return "".join(groups)


def parse_number(text: str, key: str) -> Decimal:
    """The number a spreadsheet cell means (module docstring: the rule), or Rejected naming ``key``."""
    s = _SPACES.sub("", text.strip()).removesuffix("%")
    if s[:1] in ("-", "−"):
        raise _reject("invalid_value", key, "must not be negative")
    if not s or not s[0].isdigit() or s.strip("0123456789.,"):
        raise _reject("invalid_value", key, "is not a number (digits with '.' or ',' separators)")
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        dec = "." if s.rfind(".") > s.rfind(",") else ","
        whole, _sep, frac = s.rpartition(dec)
        if dec in whole:
            raise _reject("invalid_value", key, f"has the decimal separator '{dec}' twice")
        whole = _thousands(whole.split("," if dec == "." else "."), key)
    elif dots + commas > 1:
        whole, frac = _thousands(s.split("." if dots else ","), key), ""
    elif dots + commas == 1:
        whole, _sep, frac = s.partition("." if dots else ",")
        if not whole or not frac:
            raise _reject("invalid_value", key, "has a separator without digits on both sides")
        if len(frac) == 3 and len(whole) <= 3 and whole[0] != "0":
            raise _reject("ambiguous_number", key, "has one '.' or ',' before exactly three digits: a thousands "
                          "separator or a decimal point? Write the number without it (5678), with both "
                          "separators (5.678,0) or with a fourth decimal (5,6780)")
    else:
        whole, frac = s, ""
    if not frac.isdigit() and frac:
        raise _reject("invalid_value", key, "is not a number (digits with '.' or ',' separators)")
    return Decimal(f"{whole}.{frac or 0}")


def amount(obj: dict, key: str) -> float | None:
    """A non-negative value of at most 10^15: a JSON number, or text by :func:`parse_number`."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _reject("invalid_value", key, "must be a number, not a boolean")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _reject("invalid_value", key, "must be a finite number")
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if number < 0:
            raise _reject("invalid_value", key, "must not be negative")
    else:
        text = canonical.string(obj, key)
        if text is None:
            return None
        number = parse_number(text, key)
    if number > MAX_VALUE:
        raise _reject("invalid_value", key, f"is above {MAX_VALUE:.0e}")
    return float(number)


# -- dates -----------------------------------------------------------------------------------------
def _date(value: Any, key: str, year: int) -> str:
    """``YYYY-MM-DD`` (Vietnam calendar) of a date within plan year ``year`` or January of the next."""
    ms = fields.timestamp_ms(value, key)
    if ms is None:
        raise _reject("missing_field", key, "is required")
    date = datetime.fromtimestamp(ms / 1000, fields.VIETNAM).strftime("%Y-%m-%d")
    if not f"{year:04d}-01-01" <= date <= f"{year + 1:04d}-01-31":
        raise _reject("invalid_value", key, f"must fall within the plan year {year} or January {year + 1}")
    return date


def milestones(obj: dict, year: int) -> list[dict[str, Any]]:
    """``[{"date", "share"}]`` from an array of ``{"date", "percent"}`` or a ``date: percent%; ...`` text."""
    value = obj.get("milestones")
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        items = []
        for part in filter(str.strip, re.split(r"[;\n]", value)):
            m = _MILESTONE.match(part)
            if m is None:
                raise _reject("invalid_value", "milestones", "must read 'date: percent%' separated by ';'")
            items.append({"date": m.group(1), "percent": m.group(2)})
    elif isinstance(value, list) and all(isinstance(x, dict) for x in value):
        items = value
    else:
        raise _reject("invalid_value", "milestones", "must be an array of {date, percent} objects")
    if len(items) > MAX_MILESTONES:
        raise _reject("invalid_value", "milestones", f"holds more than {MAX_MILESTONES} dates")
    out: list[dict[str, Any]] = []
    for item in items:
        date = _date(item.get("date"), "milestones.date", year)
        percent = amount({"milestones.percent": item.get("percent")}, "milestones.percent")
        if percent is None:
            raise _reject("missing_field", "milestones.percent", "is required")
        if not 0 < percent <= 100:
            raise _reject("invalid_value", "milestones.percent", "must be above 0 and at most 100")
        share = float(Fraction(repr(percent)) / 100)
        if out and (date <= out[-1]["date"] or share < out[-1]["share"]):
            raise _reject("invalid_value", "milestones", "must have ascending dates and never decreasing percents")
        out.append({"date": date, "share": share})
    return out


# -- codes and labels ------------------------------------------------------------------------------
def program(obj: dict, ctx: Context) -> str:
    raw = canonical.string(obj, "program")
    if raw is None:
        raise _reject("missing_field", "program", "is required")
    upper = raw.upper()
    if upper in PROGRAM_PHRASES:
        return upper
    own = _PROVINCE_PROGRAM.match(upper)
    if own is not None:
        if own.group(1) != ctx.province:
            raise _reject("invalid_value", "program", f"names the province code of another province than "
                          f"{ctx.province}")
        return upper
    if scrub(raw) != raw:  # a code field holding an e-mail, phone or ID number is a sender's bug, not a name
        raise _reject("invalid_value", "program", "holds personal data (an e-mail address, phone or ID number), "
                      "not a program's code or name")
    folded = fold(raw)
    found = [code for code, phrases in PROGRAM_PHRASES.items() if any(p in folded for p in phrases)]
    if len(found) != 1:
        raise _reject("invalid_value", "program", "is not NTM, GNBV, DTTS (or their names), the province code "
                      "or <province code>-<own program code>")
    return found[0]


def unit(obj: dict) -> str | None:
    raw = canonical.string(obj, "unit")
    if raw is None:
        return None
    if len(raw) > 32:
        raise _reject("invalid_value", "unit", "is longer than 32 characters")
    return _UNIT_CODES.get(raw) or UNITS.get(fold(raw)) or scrub(raw.lower())  # a free unit travels: scrubbed


def _code(obj: dict, key: str) -> str:
    raw = canonical.string(obj, key)
    if raw is None:
        raise _reject("missing_field", key, "is required")
    if not _CODE.match(raw):
        raise _reject("invalid_value", key, "must be 1-64 characters without '|'")
    return raw


def _text(obj: dict, key: str) -> str | None:
    raw = canonical.string(obj, key)
    if raw is not None and len(raw) > MAX_TEXT:
        raise _reject("invalid_value", key, f"is longer than {MAX_TEXT} characters")
    return scrub(raw)


def record_type(obj: dict, actual: float | None, target: float | None) -> str:
    raw = canonical.string(obj, "record_type")
    if raw is not None:
        name = raw.upper() if raw.upper() in ("TARGET_ASSIGNED", "PROGRESS_REPORTED") else RECORD_TYPES.get(fold(raw))
        if name is None:
            raise _reject("invalid_value", "record_type", "is not TARGET_ASSIGNED or PROGRESS_REPORTED")
        return name
    if actual is not None:
        return "PROGRESS_REPORTED"
    if target is not None:
        return "TARGET_ASSIGNED"
    raise _reject("missing_field", "record_type", "is unsaid and neither actual_value nor target_value is given")


# -- the record ------------------------------------------------------------------------------------
def target(obj: dict, ctx: Context) -> dict[str, Any]:
    """A TargetEvent record from a hub-json target object (or a matched CSV row)."""
    actual, planned = amount(obj, "actual_value"), amount(obj, "target_value")
    kind = record_type(obj, actual, planned)
    year = canonical.integer(obj, "year", 2000, 2100)
    if year is None:
        raise _reject("missing_field", "year", "is required")
    rec: dict[str, Any] = {"record_type": kind, "year": year, "program": program(obj, ctx),
                           "indicator_code": _code(obj, "indicator_code"),
                           "indicator_name": _text(obj, "indicator_name"), "unit": unit(obj),
                           "target_value": None, "milestones": [], "document_number": None,
                           "actual_value": None, "as_of": None, "note": None}
    if kind == "TARGET_ASSIGNED":
        if planned is None:
            raise _reject("missing_field", "target_value", "is required for TARGET_ASSIGNED")
        if planned <= 0:
            raise _reject("invalid_value", "target_value", "must be above 0")
        if rec["unit"] is None:
            raise _reject("missing_field", "unit", "is required for TARGET_ASSIGNED")
        rec.update(target_value=planned, milestones=milestones(obj, year),
                   document_number=_text(obj, "document_number"))
        when = canonical.timestamp(obj, "assigned_at")
    else:
        if actual is None:
            raise _reject("missing_field", "actual_value", "is required for PROGRESS_REPORTED")
        note = _text(obj, "note")
        rec.update(actual_value=actual, as_of=_date(obj.get("as_of"), "as_of", year),
                   note=None if note and names_a_person(note) else note)
        when = None
    rec["commune_code"] = canonical.string(obj, "commune_code")
    rec["source_event_id"] = canonical.string(obj, "event_id")
    rec["event_time"] = canonical.timestamp(obj, "event_time") or when
    return rec
