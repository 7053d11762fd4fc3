"""Shared helpers of the normalize tests: the fixture context, envelopes and field-by-field checks."""

from __future__ import annotations

from fixtures.load import TEST_KEY_IDS, TEST_KEYS, Case, cases, organs

from hub.contract import codec
from hub.errors import Rejected
from hub.normalize import Context, Envelope, normalize
from hub.settings import Settings

# After every fixture's and reference dataset's own times (the latest: a targets report of 2026-01-27): the hub
# refuses events from the future (HUB_MAX_FUTURE_SKEW).
INGEST_MS = 1_769_904_000_000  # 2026-02-01T00:00:00Z
SUBJECT = {"dossier": "feed.dossier.v1-value", "document": "feed.document.v1-value", "target": "feed.target.v1-value"}


def context(**overrides) -> Context:
    """The deployment the fixtures assume: Gia Lai (52), the fixture organ directory."""
    base = dict(province="52", pseudonym_key=b"normalize-tests-master-key", organs=organs(),
                applicant_key=TEST_KEYS["applicant"], handler_key=TEST_KEYS["handler"],
                applicant_key_id=TEST_KEY_IDS["applicant"], handler_key_id=TEST_KEY_IDS["handler"])
    base.update(overrides)
    return Context(**base)


def envelope(fmt: str, kind: str, hint: str | None = None, event_id: str | None = None) -> Envelope:
    return Envelope(kind=kind, format=fmt, source_system="test-system", trace_id="trace-1",
                    ingest_time_ms=INGEST_MS, commune_hint=hint, source_event_id=event_id)


def run(case: Case, ctx: Context | None = None) -> list[dict]:
    return normalize(case.raw, envelope(case.format, case.kind, case.commune_hint), ctx or context())


def cases_in(folder: str) -> list[Case]:
    return [c for c in cases() if c.name.startswith(folder + "/")]


def encode(kind: str, rec: dict) -> bytes:
    schemas = codec.load(Settings.from_env(env={}).schemas_dir)
    return codec.encode(schemas.latest(SUBJECT[kind]), rec)


def check_case(case: Case) -> list[dict]:
    """Normalize ``case`` and assert every expected field of every record (or the rejection reason)."""
    ctx = context()
    if case.reject:
        try:
            run(case, ctx)
        except Rejected as exc:
            assert exc.reason == case.reject, f"{case.name}: rejected {exc.reason} ({exc.message})"
            return []
        raise AssertionError(f"{case.name}: expected rejection {case.reject}, got records")
    records = run(case, ctx)
    expected = case.expected_records()
    assert len(records) == len(expected), f"{case.name}: {len(records)} records, expected {len(expected)}"
    for i, (got, want) in enumerate(zip(records, expected, strict=True)):
        for key, value in want.items():
            assert key in got, f"{case.name}[{i}]: field {key} missing"
            assert got[key] == value, f"{case.name}[{i}].{key}: {got[key]!r} != {value!r}"
        assert got["source_system"] == "test-system" and got["trace_id"] == "trace-1"
        assert got["ingest_time"] == INGEST_MS and len(got["event_id"]) == 32
        encode(case.kind, got)  # every record fits the latest feed schema
    return records
