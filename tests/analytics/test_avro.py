"""to_avro of KPI, directive reach and freshness rows encodes under the latest schemas (CommuneKpi v2,
DirectiveReach v2, CommuneFreshness v1), and v1 readers still decode the v2 records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.analytics import directives, freshness, kpi
from hub.analytics import periods as pr
from hub.analytics.config import AnalyticsConfig
from hub.contract import codec
from hub.settings import Settings

from .datasets import (
    COMMUNE,
    DIRECTIVE_EVENTS,
    DIRECTIVE_ID,
    DIRECTIVE_NOW,
    DOSSIER_EVENTS,
    FRESHNESS_EVENTS,
    FRESHNESS_NOW,
    NOW,
)
from .test_directives import fold as fold_directives
from .test_freshness import _fold as fold_freshness
from .test_kpi import fold as fold_dossiers

CFG = AnalyticsConfig.from_settings(Settings.from_env(env={}))
SCHEMAS = codec.load(Settings.from_env(env={}).schemas_dir)


def _ms(value):
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else value


def _roundtrip(subject: str, record: dict) -> dict:
    data = codec.encode(SCHEMAS.latest(subject), record)
    assert codec.schema_id(data) == SCHEMAS.latest(subject).id
    return codec.decode(SCHEMAS, data)


def test_kpi_record():
    """A CommuneKpi v2 record carries the row's numbers, key and traces; a v1 reader decodes it."""
    row = kpi.compute(fold_dossiers(DOSSIER_EVENTS).values(), COMMUNE, pr.parse("month", "2025-11"), NOW)
    rec = kpi.to_avro(row, "52")
    back = _roundtrip("feed.kpi.commune.v1-value", rec)
    assert (back["period"], back["period_key"], back["at"], back["final"]) == ("MONTH", "23734|month|2025-11",
                                                                              "2025-11", True)
    assert (back["dossiers_in_scope"], back["dossiers_on_time"], back["dossiers_late"]) == (11, 6, 5)
    assert back["timeliness_rate"] == pytest.approx(6 / 11) and back["sync_latency_p90_ms"] == 3_600_000
    assert back["trace_ids"] == ["tr-D12-1", "tr-D7-1", "tr-D3-2"]
    assert back["period_start"] == datetime(2025, 10, 31, 17, tzinfo=UTC)
    v1 = codec.decode(SCHEMAS, codec.encode(SCHEMAS.latest("feed.kpi.commune.v1-value"), rec),
                      reader=SCHEMAS.version("feed.kpi.commune.v1-value", 1))
    assert v1["dossiers_in_scope"] == 11 and "period_key" not in v1


def test_directive_record():
    """A DirectiveReach v2 record carries reply, deadlines and flags; a v1 reader decodes it."""
    state = fold_directives(DIRECTIVE_EVENTS)[directives.key(DIRECTIVE_ID, "23749")]
    rec = directives.to_avro(directives.row(state, DIRECTIVE_NOW, CFG))
    back = _roundtrip("feed.directive.v1-value", rec)
    assert (back["commune_code"], back["acceptance_overdue"], back["overdue"], back["acceptance_sla"]) == (
        "23749", True, True, "1wd")
    assert _ms(back["acceptance_deadline"]) == rec["acceptance_deadline"] and back["trace_id"] == rec["trace_id"]
    v1 = codec.decode(SCHEMAS, codec.encode(SCHEMAS.latest("feed.directive.v1-value"), rec),
                      reader=SCHEMAS.version("feed.directive.v1-value", 1))
    assert v1["acceptance_overdue"] is True and v1["priority"] == "NORMAL"


def test_freshness_record():
    """A CommuneFreshness v1 record lists each system with its silence."""
    state = fold_freshness(FRESHNESS_EVENTS)["23734"]
    back = _roundtrip("feed.freshness.v1-value", freshness.to_avro(freshness.row(state, FRESHNESS_NOW, CFG)))
    assert [(s["source_system"], s["silent"]) for s in back["systems"]] == [("edoc-ialy", False),
                                                                            ("onestop-ialy", True)]
    assert back["silent"] is False and back["province_code"] == "52"
