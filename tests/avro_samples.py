"""Realistic canonical records for schema and codec tests (no personal data: pseudonyms only)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "hub" / "schemas"
DOSSIER = "feed.dossier.v1-value"
GIA_LAI_COMMUNES = ["23734", "23728", "23722", "23749", "23767"]
STATUSES = ["NEWLY_REGISTERED", "ACCEPTED", "PROCESSING", "SUPPLEMENT_REQUESTED", "PROCESSING_FINISHED",
            "RESULT_RETURNED"]
BASE_MS = 1_754_006_400_000  # 2025-08-01T00:00:00Z
HOUR = 3_600_000


def _hex(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def dossier_v2(i: int) -> dict[str, Any]:
    """A DossierEvent v2 record, varied by ``i`` (every optional kind of value appears)."""
    commune = GIA_LAI_COMMUNES[i % len(GIA_LAI_COMMUNES)]
    received = BASE_MS + i * HOUR
    finished = i % 3 == 0
    return {
        "event_id": _hex("one-stop-ialy", i),
        "source_system": "one-stop-ialy",
        "source_event_id": f"evt-{i:05d}",
        "commune_code": commune,
        "province_code": "52",
        "record_type": "PROGRESS" if i % 4 == 3 else "DOSSIER",
        "dossier_code": f"000.00.{commune[-2:]}.H21-250801-{i:04d}",
        "procedure_code": "1.001612" if i % 5 else None,
        "procedure_name": "Đăng ký khai sinh" if i % 5 else None,
        "field_code": "G22-TP05",
        "channel": ["IN_PERSON", "ONLINE", "POSTAL"][i % 3] if i % 7 else None,
        "service_level": [2, 3, 4][i % 3],
        "applicant_type": ["CITIZEN", "BUSINESS", "STATE_AGENCY", "OTHER"][i % 4],
        "applicant_pseudonym": _hex("applicant", i % 6),
        "status": STATUSES[i % len(STATUSES)],
        "received_at": received,
        "due_at": received + 72 * HOUR,
        "finished_at": received + 30 * HOUR if finished else None,
        "returned_at": received + 40 * HOUR if finished and i % 2 == 0 else None,
        "refused_at": None,
        "handling_unit": "Bộ phận Một cửa",
        "handler_pseudonym": _hex("handler", i % 3),
        "handler_role": "Công chức Tư pháp - Hộ tịch",
        "has_digitized_components": i % 2 == 0,
        "paid_online": (i % 4 == 0) if i % 3 else None,
        "fee_bearing": i % 3 != 0,
        "digitized_document_count": (i % 4) if i % 2 == 0 else None,
        "event_time": received + 5 * 60_000,
        "ingest_time": received + 5 * 60_000 + 1_250,
        "trace_id": _hex("trace", i)[:32],
    }


def as_v1(record: dict[str, Any]) -> dict[str, Any]:
    """The same record as DossierEvent v1 knows it (no digitized_document_count)."""
    return {k: v for k, v in record.items() if k != "digitized_document_count"}


def plain(record: dict[str, Any]) -> dict[str, Any]:
    """Decoded values made comparable with written ones: datetimes back to epoch millis."""
    return {k: int(v.timestamp() * 1000) if isinstance(v, datetime) else v for k, v in record.items()}


def kpi_record() -> dict[str, Any]:
    """A CommuneKpi v1 record for one month of Ia Ly."""
    return {
        "commune_code": "23734", "province_code": "52", "period": "MONTH",
        "period_start": int(datetime(2025, 7, 31, 17, tzinfo=UTC).timestamp() * 1000),
        "period_end": int(datetime(2025, 8, 31, 17, tzinfo=UTC).timestamp() * 1000),
        "dossiers_in_scope": 120, "dossiers_finished": 90, "dossiers_finished_on_time": 85,
        "dossiers_in_progress_in_time": 25, "timeliness_rate": 110 / 120, "dossiers_received": 100,
        "online_dossiers": 60, "online_rate": 0.6, "fully_online_dossiers": 20, "fully_online_rate": 0.2,
        "fee_bearing_dossiers": 40, "paid_online_dossiers": 10, "online_payment_rate": 0.25,
        "digitized_dossiers": 70, "digitization_rate": 0.7, "sync_latency_p50_ms": 1200,
        "sync_latency_p95_ms": 86_400_000, "sync_latency_count": 400, "overdue_open_dossiers": 5,
        "open_dossiers": 30, "distinct_handlers": 4, "open_dossiers_per_handler": 7.5,
        "computed_at": BASE_MS + 40 * 24 * HOUR,
    }


def directive_record() -> dict[str, Any]:
    """A DirectiveReach v1 record: an urgent directive accepted late by Ia Phí."""
    return {
        "document_id": "000.00.00.H21,2025/08/01,12/CT-UBND", "code_notation": "12/CT-UBND",
        "issuer_organ_id": "000.00.00.H21", "promulgated_at": BASE_MS, "priority": "URGENT",
        "due_at": BASE_MS + 7 * 24 * HOUR, "commune_code": "23749", "province_code": "52",
        "arrived_at": BASE_MS + 60_000, "accepted_at": BASE_MS + 30 * HOUR, "assigned_at": None,
        "completed_at": None, "arrival_latency_ms": 60_000, "acceptance_latency_ms": 30 * HOUR,
        "assignment_latency_ms": None, "completion_latency_ms": None, "sla_hours": 24,
        "acceptance_overdue": True, "completion_overdue": False, "last_status": "ACCEPTED",
        "last_status_at": BASE_MS + 30 * HOUR, "computed_at": BASE_MS + 31 * HOUR,
    }


def schema_text(file: str) -> str:
    """A shipped .avsc file's JSON, re-serialized (as a client would hold it)."""
    return json.dumps(json.loads((SCHEMAS / file).read_text(encoding="utf-8")))
