"""Every dialect fixture through the real broker and worker: field-by-field feed records, no personal data.

Pseudonyms are expected as literal HMACs under the fixtures' explicit per-purpose test keys
(tests/fixtures/load.py), which the deployment under test is given as HUB_*_PSEUDONYM_KEY(_ID).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

import orjson
import pytest

from connectors.publisher import Publisher
from hub import systems
from hub.contract import codec, topics
from hub.contract import headers as h
from hub.testing import read_topic
from tests.fixtures import load

pytestmark = pytest.mark.integration
FIXTURE_COMMUNES = ["23722", "23728", "23734", "23749", "23767"]


def _plain(value):
    """Feed values as the fixtures write them: timestamps as epoch ms."""
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return value


def test_dialect_fixtures_round_trip_field_by_field_without_personal_data(make_settings, hub_process):
    """Each fixture yields exactly its expected feed records (or its DLQ reason), and no personal datum leaks."""
    organs = ",".join(f"{k}={v}" for k, v in load.organs().items())
    s = make_settings(organs=organs, pseudonym_key="pipeline-master-key",
                      applicant_pseudonym_key=load.TEST_KEYS["applicant"].decode(),
                      applicant_pseudonym_key_id=load.TEST_KEY_IDS["applicant"],
                      handler_pseudonym_key=load.TEST_KEYS["handler"].decode(),
                      handler_pseudonym_key_id=load.TEST_KEY_IDS["handler"])
    # it sends as every organ of the fixtures (a system may only send as OrganIds registered to it)
    systems.add(s, "fixtures", FIXTURE_COMMUNES, ["dossier", "document", "target"], list(load.organs()))
    cases = load.cases()
    with Publisher("fixtures", s) as pub:
        for i, case in enumerate(cases):
            pub.send(case.kind, case.raw, format=case.format, commune=case.commune_hint, trace_id=f"case-{i}")
    worker = hub_process(["worker"], s)

    want = {kind: sum(len(c.expected) for c in cases if not c.reject and c.kind == kind) for kind in topics.KINDS}
    expected_feed = sum(want.values())
    expected_dlq = sum(1 for c in cases if c.reject)
    feed = [rec for kind in topics.KINDS
            for rec in read_topic(s, s.topic(topics.FEED_BY_KIND[kind]), expect=want[kind], timeout_s=120)]
    dlq = read_topic(s, s.topic(topics.DLQ), expect=expected_dlq, timeout_s=60)
    assert len(feed) == expected_feed, worker.output()[-2000:]
    assert len(dlq) == expected_dlq

    schemas = codec.load(s.schemas_dir)
    decoded: dict[str, list[dict]] = {}
    for rec in feed:
        value = {k: _plain(v) for k, v in codec.decode(schemas, rec.value).items()}
        assert rec.key.decode() == value["commune_code"]
        decoded.setdefault(value["trace_id"], []).append(value)

    for i, case in enumerate(cases):
        if case.reject:
            continue
        got = decoded.get(f"case-{i}", [])
        want = case.expected_records()
        assert len(got) == len(want), case.name
        for exp in want:
            matches = [g for g in got if all(g.get(k) == v for k, v in exp.items())]
            assert matches, f"{case.name}: no feed record matches {exp}; got {got}"

    reasons = {rec.headers[h.TRACE_ID]: rec.headers[h.ERR_REASON] for rec in dlq}
    for i, case in enumerate(cases):
        if case.reject:
            assert reasons[f"case-{i}"] == case.reject, case.name
            assert any(r.value == case.raw for r in dlq), "dead letters keep the original bytes"

    # Personal data: not in any feed record's bytes, its decoded text, the DLQ headers (the DLQ value
    # is the raw payload, operators only), nor the worker's log lines.
    haystacks = [rec.value for rec in feed]
    haystacks += [orjson.dumps(v) for vs in decoded.values() for v in vs]
    dlq_headers = [orjson.dumps(rec.headers) for rec in dlq]
    log_text = worker.output().encode()
    for datum in load.personal_data():
        needle = unicodedata.normalize("NFC", datum).encode()
        assert not any(needle in hay for hay in haystacks), f"personal datum leaked to a feed: {datum!r}"
        assert not any(needle in hay for hay in dlq_headers), f"personal datum leaked to DLQ headers: {datum!r}"
        assert needle not in log_text, f"personal datum leaked to the logs: {datum!r}"
