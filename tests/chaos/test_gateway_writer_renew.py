"""Regression (found by test_broker_faults): after a broker restart the gateway's idempotent producer got
``OutOfOrderSequenceNumber`` and kept it — every later write answered 503, for good. The writer now
replaces a producer left in such a state; writes succeed again once the new one is connected."""

from __future__ import annotations

import asyncio

import aiokafka
import pytest
from aiokafka.errors import OutOfOrderSequenceNumber

from hub.errors import TransientError
from hub.ingest.writer import KafkaWriter
from hub.settings import Settings


class _Producer:
    made: list[_Producer] = []

    def __init__(self, **_config):
        self.broken = not _Producer.made  # the first one is in the state a broker restart left it in
        self.stopped = False
        _Producer.made.append(self)

    async def start(self):
        pass

    async def stop(self):
        self.stopped = True

    async def send(self, topic, value=None, key=None, headers=None):
        future = asyncio.get_running_loop().create_future()
        if self.broken:
            future.set_exception(OutOfOrderSequenceNumber())
        else:
            future.set_result(type("Md", (), {"topic": topic, "partition": 0, "offset": len(_Producer.made)}))
        return future


def test_a_producer_with_broken_sequence_numbers_is_replaced(monkeypatch):
    monkeypatch.setattr(aiokafka, "AIOKafkaProducer", _Producer)
    _Producer.made = []

    async def scenario():
        writer = KafkaWriter(Settings.from_env(env={}, kafka_bootstrap="127.0.0.1:1"))
        writer.start()
        for _ in range(100):
            if writer.ready:
                break
            await asyncio.sleep(0.01)
        with pytest.raises(TransientError, match="OutOfOrderSequenceNumber"):
            await writer.write("t", [(b"k", b"v", [])])
        for _ in range(100):  # a new producer connects in the background
            if writer.ready:
                break
            await asyncio.sleep(0.01)
        written = await writer.write("t", [(b"k", b"v", [])])
        await writer.close()
        return written

    written = asyncio.run(scenario())
    assert len(written) == 1 and len(_Producer.made) == 2 and _Producer.made[0].stopped
