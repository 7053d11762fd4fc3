"""Reference data: the national list of commune-level units, shipped inside the package."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from hub.errors import Rejected


@dataclass(frozen=True, slots=True)
class Commune:
    code: str
    name: str
    kind: str  # commune, ward, special_zone
    province_code: str
    province_name: str


@cache
def communes() -> dict[str, Commune]:
    """All 3,321 commune-level units (Decision 19/2025/QĐ-TTg), by 5-digit code."""
    text = resources.files("hub.data").joinpath("admin_units_2025.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {r["commune_code"]: Commune(r["commune_code"], r["name"], r["kind"], r["province_code"],
                                       r["province_name"]) for r in rows}


def in_province(code: str, province: str, *, field: str) -> Commune:
    """The unit ``code`` names; ``Rejected`` when it is not in the national list (``unknown_commune``)
    or belongs to another province (``commune_not_in_province``), naming ``field``."""
    unit = communes().get(code)
    if unit is None:
        raise Rejected("unknown_commune", f"commune code {code[:20]!r} is not in the national reference list",
                       field=field)
    if unit.province_code != province:
        raise Rejected("commune_not_in_province", f"commune {code} ({unit.name}) belongs to province "
                       f"{unit.province_code}, not {province}", field=field)
    return unit


def province_communes(province: str) -> list[Commune]:
    return [c for c in communes().values() if c.province_code == province]


def provinces() -> dict[str, str]:
    return {c.province_code: c.province_name for c in communes().values()}
