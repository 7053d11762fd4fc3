"""Field parsers shared by the dialects: dates in Vietnam time, codes, text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hub.errors import Rejected
from hub.normalize.decode import utf8_text as utf8  # noqa: F401 - the file drop reads CSV text with it

VIETNAM = timezone(timedelta(hours=7), "ICT")
_COMPACT = re.compile(r"^\d{14}$")  # yyyyMMddHHmmss
_COMPACT_DATE = re.compile(r"^\d{8}$")  # yyyyMMdd
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
# yyyy/MM/dd[ HH:mm[:ss]]: edXML PromulgationDate and the date part of DocumentId use it
_YMD = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_MIN_YEAR, _MAX_YEAR = 1990, 2100


def text(value: Any) -> str | None:
    """Unicode NFC, stripped; empty becomes None. Vendors send NFD from some Windows tools."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if not value.isascii():  # ASCII is NFC already: codes, dates and numbers skip the normalizer
        value = unicodedata.normalize("NFC", value)
    return value.strip() or None


def fold(value: str) -> str:
    """Case-, diacritics- and punctuation-insensitive key: ``Mã hồ sơ`` and ``MaHoSo`` -> ``mahoso``."""
    value = unicodedata.normalize("NFD", unicodedata.normalize("NFC", value))
    value = value.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in value if c.isalnum() and not unicodedata.combining(c)).lower()


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", bool: "a boolean"}.get(type(value), type(value).__name__)


def scalar(value: Any, field: str, *, booleans: bool = False) -> str | None:
    """NFC text of a JSON string or number (and boolean when ``booleans``); an object or array where
    text belongs is ``invalid_value`` naming the field, never its ``str()``."""
    if type(value) is str:  # the common case, inlined: ~20 fields of a dossier pass here
        if not value.isascii():
            value = unicodedata.normalize("NFC", value)
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, str):
        return text(value)
    if isinstance(value, int | float) and (booleans or not isinstance(value, bool)):
        return text(str(value))
    raise Rejected("invalid_value", f"{field} must be a string or a number, not {_json_type(value)}",
                   stage="map", field=field)


def unique(values: Iterable[str | None]) -> list[str]:
    """Non-empty values, first occurrence kept, in order — in linear time (a dict, not ``x not in list``)."""
    return list(dict.fromkeys([v for v in values if v]))


def required(record: dict, key: str, value: Any) -> str:
    out = scalar(value, key)
    if out is None:
        raise Rejected("missing_field", f"required field {key} is missing or empty", field=key)
    return out


def timestamp_ms(value: Any, field: str) -> int | None:
    """Parse yyyyMMddHHmmss, yyyyMMdd, dd/MM/yyyy[ HH:mm[:ss]], yyyy/MM/dd[ HH:mm[:ss]] (Vietnam time)
    or ISO 8601 to UTC ms.

    A value without an offset is Vietnam local time (UTC+7), as the national portal sends it.
    """
    raw = scalar(value, field)
    if raw is None:
        return None
    try:
        # The national formats by slicing: strptime costs ~10x more and checks nothing datetime() does not.
        if _COMPACT.match(raw):
            return _compact_ms(raw, field)
        elif _COMPACT_DATE.match(raw):
            dt = datetime(int(raw[0:4]), int(raw[4:6]), int(raw[6:8]), tzinfo=VIETNAM)
        elif m := _DMY.match(raw):
            d, mo, y, hh, mm, ss = m.groups()
            dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=VIETNAM)
        elif m := _YMD.match(raw):
            y, mo, d, hh, mm, ss = m.groups()
            dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=VIETNAM)
        else:
            iso = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
            dt = datetime.fromisoformat(iso)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=VIETNAM)
    except (ValueError, OverflowError):
        raise Rejected("bad_date", f"{field} is not a date as yyyyMMddHHmmss, yyyyMMdd, dd/MM/yyyy[ HH:mm[:ss]], "
                       "yyyy/MM/dd[ HH:mm[:ss]] or ISO 8601", field=field) from None
    if not _MIN_YEAR <= dt.year <= _MAX_YEAR:
        raise Rejected("bad_date", f"{field} is outside the years {_MIN_YEAR}..{_MAX_YEAR}", field=field)
    return int(dt.astimezone(UTC).timestamp() * 1000)


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_VIETNAM_OFFSET_MS = 7 * 3_600_000


def _compact_ms(raw: str, field: str) -> int:
    """yyyyMMddHHmmss (Vietnam time) -> UTC ms with integer arithmetic: the national portal's format is
    on every dossier several times, and datetime objects cost several times more."""
    days = _days.get(raw[:8])
    if days is None:
        days = _days_from_civil(raw[:8], field)
    hh, mi, ss = int(raw[8:10]), int(raw[10:12]), int(raw[12:14])
    if not (hh < 24 and mi < 60 and ss < 60):
        raise _bad_compact(field)
    return ((days * 24 + hh) * 60 + mi) * 60_000 + ss * 1000 - _VIETNAM_OFFSET_MS


# yyyyMMdd -> days since 1970-01-01. A backlog's events share few days, so most lookups hit; the
# valid years hold ~40,000 days, so the cache is bounded by validation itself.
_days: dict[str, int] = {}


def _days_from_civil(ymd: str, field: str) -> int:
    y, mo, d = int(ymd[0:4]), int(ymd[4:6]), int(ymd[6:8])
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    if not (_MIN_YEAR <= y <= _MAX_YEAR and 1 <= mo <= 12 and 1 <= d <= _DAYS_IN_MONTH[mo - 1] + (mo == 2 and leap)):
        raise _bad_compact(field)
    # days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil)
    yy = y - (mo <= 2)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    _days[ymd] = days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return days


def _bad_compact(field: str) -> Rejected:
    return Rejected("bad_date", f"{field} is not a valid yyyyMMddHHmmss date within the years "
                    f"{_MIN_YEAR}..{_MAX_YEAR}", field=field)


def code(value: Any, field: str, allowed: dict[str, str], reason: str = "invalid_value") -> str | None:
    """Map a numeric code (int or string, leading zeros ignored) through ``allowed``."""
    raw = scalar(value, field)
    if raw is None:
        return None
    key = raw.lstrip("0") or "0"
    if key not in allowed:
        raise Rejected(reason, f"{field} is not one of the codes {', '.join(sorted(allowed, key=int))}",
                       field=field)
    return allowed[key]


def flag(value: Any, field: str, true: tuple[str, ...] = ("1", "true", "yes", "co", "có")) -> bool | None:
    raw = scalar(value, field, booleans=True)
    if raw is None:
        return None
    return raw.lower() in true


def integer(value: Any, field: str, lo: int = 0, hi: int = 2**31 - 1) -> int | None:
    raw = scalar(value, field)
    if raw is None:
        return None
    try:
        n = int(raw)
    except ValueError:  # also digit strings longer than Python's int conversion limit
        raise Rejected("invalid_value", f"{field} is not an integer", field=field) from None
    if not lo <= n <= hi:
        raise Rejected("invalid_value", f"{field} is outside {lo}..{hi}", field=field)
    return n


DOSSIER_STATUS = {
    "1": "NEWLY_REGISTERED", "2": "ACCEPTED", "3": "NOT_ACCEPTED", "4": "PROCESSING",
    "5": "SUPPLEMENT_REQUESTED", "6": "FINANCIAL_OBLIGATION_REQUESTED", "7": "WITHDRAWN",
    "8": "STOPPED", "9": "PROCESSING_FINISHED", "10": "RESULT_RETURNED",
}
CHANNEL = {"1": "IN_PERSON", "2": "ONLINE", "3": "POSTAL"}
APPLICANT_TYPE = {"1": "CITIZEN", "2": "BUSINESS", "3": "STATE_AGENCY", "4": "OTHER"}
DOCUMENT_STATUS = {
    "1": "ARRIVED", "2": "REJECTED", "3": "ACCEPTED", "4": "ASSIGNED", "5": "PROCESSING",
    "6": "COMPLETED", "13": "TAKE_BACK_REQUESTED", "15": "TAKE_BACK_AGREED", "16": "TAKE_BACK_REFUSED",
}
PRIORITY = {"0": "NORMAL", "1": "URGENT", "2": "VERY_URGENT", "3": "EXPRESS", "4": "EXPRESS_FIXED_TIME"}
STEERING = {"0": "NONE", "1": "DIRECTIVE", "2": "DIRECTIVE_REPORT"}
BUSINESS_DOC_TYPE = {"0": "NEW", "1": "REVOKE", "2": "UPDATE", "3": "REPLACE"}
