"""hub.processors.normalize without a broker: feed vs DLQ, duplicates, and a dedupe state that forgets."""

from __future__ import annotations

import orjson

from hub import reference
from hub.contract import headers as h
from hub.engine.testing import FakeBatch, FakeMessage
from hub.normalize.context import Scope
from hub.processors.normalize import NormalizeProcessor
from hub.settings import Settings
from tests.pipeline import payloads


class _Systems:
    """Every commune of the country, both kinds: scope checks pass."""

    class snapshot:  # noqa: N801 - stands for the follower's attribute
        organs: dict = {}
        _scope = Scope(frozenset(reference.communes()), frozenset({"dossier", "document"}))

        @classmethod
        def scope(cls, _system: str) -> Scope:
            return cls._scope

        @staticmethod
        def get(_system: str) -> None:
            return None  # no key on record: unsigned records pass outside secure mode

    @staticmethod
    def refresh_now(timeout_s=None):
        return _Systems.snapshot


def _message(i: int, source_id: str, body: bytes | None = None) -> FakeMessage:
    value = body if body is not None else orjson.dumps({**payloads.dossier(i), "MaXa": "23734"})
    return FakeMessage("ingest.dossier", value, b"23734", [(h.SOURCE, b"onestop"), (h.FORMAT, b"dvcqg-json"),
                       (h.SOURCE_EVENT_ID, source_id.encode()), (h.TRACE_ID, b"t%d" % i)], _offset=i,
                       _timestamp_ms=1_764_000_000_000)


def _processor(**overrides) -> NormalizeProcessor:
    return NormalizeProcessor(Settings.from_env(env={}, dev_mode=True, **overrides), _Systems)


def test_valid_events_go_to_the_feed_and_bad_ones_to_the_dlq():
    """Each valid payload is one feed record keyed by its commune; a malformed one a DLQ record with a reason."""
    p = _processor()
    batch = FakeBatch([_message(0, "a"), _message(1, "b"), _message(2, "c", b"{not json")])
    p.process(batch)
    topics = [t for t, *_ in batch.sent]
    assert topics == ["feed.dossier.v1", "feed.dossier.v1", "hub.dlq.v1"]
    assert batch.sent[0][1] == b"23734" and batch.sent[2][2] == b"{not json"
    assert dict(batch.sent[2][3])[h.ERR_REASON] == b"malformed_json"


def test_a_resent_event_is_dropped_within_the_window_and_forgotten_after_it():
    """The dedupe store drops copies inside HUB_DEDUPE_WINDOW_HOURS; the timer then forgets the entries."""
    p = _processor(dedupe_window_hours=1)
    first = FakeBatch([_message(0, "same"), _message(1, "other")])
    p.process(first)
    first.commit()
    again = first.next([_message(0, "same")])
    p.process(again)
    again.commit()
    assert len(first.sent) == 2 and again.sent == []  # the copy was a duplicate
    store = again.stores("dedupe")[("ingest.dossier", 0)]
    assert len(store) == 2
    later = again.next()
    p.punctuate(later, 1_764_000_000_000 * 2)  # far past the window
    later.commit()
    assert len(store) == 0  # memory does not grow with every event ever seen
