"""Regression (found by test_broker_faults): the outbox's forwarder thread died when the producer it
discarded after a failed send could not flush — ``KafkaProducer.close`` raises ``KafkaTimeoutError`` while
batches are pending, which is exactly the state after a broker outage — and the outbox stopped draining.
"""

from __future__ import annotations

from types import SimpleNamespace

from kafka.errors import KafkaTimeoutError

from connectors.outbox import Outbox
from hub.settings import Settings
from hub.testing import wait_for


class _Future:
    def __init__(self, done: bool, topic: str = ""):
        self.is_done = done
        self.value = SimpleNamespace(topic=topic, partition=0, offset=0)
        self.exception = None

    def failed(self) -> bool:
        return False


class _Producer:
    """A producer whose broker went away (``acks`` False: nothing is acknowledged, close cannot flush)."""

    def __init__(self, acks: bool):
        self.acks, self.sent, self.closed = acks, 0, False
        self._sender = SimpleNamespace(force_close=lambda: setattr(self, "closed", True))

    def send(self, topic, **_kw):
        self.sent += 1
        return _Future(self.acks, topic)

    def flush(self, timeout=None):
        if not self.acks:
            raise KafkaTimeoutError("Timeout waiting for future")

    def close(self, timeout=None):
        self.flush(timeout)
        self.closed = True


def test_the_forwarder_survives_a_producer_that_cannot_close(tmp_path, monkeypatch):
    """A failed send, then a close that raises: the forwarder goes on with a new producer and drains."""
    producers = [_Producer(acks=False), _Producer(acks=True)]
    made: list[_Producer] = []
    monkeypatch.setattr(Outbox, "_producer", lambda self: made.append(producers[len(made)]) or made[-1])
    s = Settings.from_env(env={}, kafka_bootstrap="127.0.0.1:1", outbox_path=str(tmp_path / "outbox.sqlite3"))
    box = Outbox(s, "chaos-regression", batch_size=10, backoff_max_s=0.1, send_timeout_s=0.1)
    try:
        box.publish_many([("dossier", b"{}", {"format": "hub-json", "commune": "23734", "event_id": f"e{i}"})
                          for i in range(5)])
        assert box.flush(10), f"the outbox stopped draining (forwarder alive: {box._thread.is_alive()})"
        assert len(made) == 2 and producers[0].closed and producers[1].sent == 5
        assert box.stats().retries_total == 1
    finally:
        box.close()
    wait_for(lambda: not box._thread.is_alive(), timeout_s=10, what="forwarder stopped")
