"""One asyncio Kafka producer shared by every request of a gateway (aiokafka, acks=all, idempotent).

Requests hand their records to the producer without leaving the event loop and wait at most
``HUB_GATEWAY_DELIVERY_TIMEOUT_MS`` for the acknowledgements; past it they answer 503. The
producer connects in the background: a gateway started while the broker is down serves
``/healthz`` at once and answers writes with 503 until the broker is reachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from hub import log
from hub.contract.headers import Headers
from hub.errors import TransientError
from hub.kafka import config as kafka_config
from hub.retry import Backoff
from hub.settings import Settings

_RECONNECT_S = (0.2, 5.0)  # first and largest pause between connection attempts
# Errors after which an idempotent producer stays unusable (its sequence numbers or id no longer match the
# broker's; aiokafka does not reset them): every later write would fail the same way, so a new producer is made.
_BROKEN_PRODUCER = frozenset({"OutOfOrderSequenceNumber", "UnknownProducerIdError", "InvalidProducerEpoch",
                              "ProducerFenced", "InvalidProducerIdMapping"})


async def cancel(task: asyncio.Task | None) -> None:
    """Cancel a background task (None: nothing to do) and wait until it ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def _stop(producer) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.stop(), timeout=10)


@dataclass(frozen=True, slots=True)
class Written:
    topic: str
    partition: int
    offset: int


class KafkaWriter:
    """The shared producer; ``write`` is the only call requests make."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout_s = settings.gateway_delivery_timeout_ms / 1000
        self._producer = None
        self._task: asyncio.Task | None = None
        self.connected_ms: int | None = None  # when the producer last started
        self.last_error: str | None = None

    @property
    def ready(self) -> bool:
        return self._producer is not None

    @property
    def producer(self):
        return self._producer

    def start(self) -> None:
        """Connect in the background (retrying with backoff) and return at once."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._connect(), name="gateway-kafka-connect")

    async def _connect(self) -> None:
        from aiokafka import AIOKafkaProducer

        pause = Backoff(*_RECONNECT_S)
        while True:
            s = self.settings
            producer = AIOKafkaProducer(**kafka_config.aiokafka(
                s, client_id=f"{s.app_id}-gateway", acks="all",
                enable_idempotence=True, linger_ms=5, request_timeout_ms=max(1000, s.gateway_delivery_timeout_ms),
                retry_backoff_ms=100, max_batch_size=256 * 1024,
                max_request_size=max(1_048_576, s.max_payload_bytes + 65_536)))
            try:
                await asyncio.wait_for(producer.start(), timeout=max(1.0, self.timeout_s))
            except Exception as exc:  # noqa: BLE001 - any start failure: report, back off, try again
                self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                with contextlib.suppress(Exception):
                    await producer.stop()
                await asyncio.sleep(pause.next())
                continue
            self._producer, self.last_error = producer, None
            self.connected_ms = int(time.time() * 1000)
            log.get().info("gateway_kafka_connected", bootstrap=s.kafka_bootstrap)
            return

    async def write(self, topic: str, items: list[tuple[bytes, bytes, Headers]]) -> list[Written]:
        """Send (key, value, headers) records; return once every one is acknowledged.

        Raises :class:`TransientError` (503) when the producer is not connected or the broker does
        not acknowledge everything within the delivery timeout. Records sent before the timeout
        may still land: publishers retry with the same source event ids and the worker drops the
        duplicates.
        """
        producer = self._producer
        if producer is None:
            raise TransientError(f"not connected to Kafka at {self.settings.kafka_bootstrap} yet"
                                 + (f" ({self.last_error})" if self.last_error else "") + "; nothing was accepted")
        try:
            async with asyncio.timeout(self.timeout_s):
                futures = [await producer.send(topic, value=v, key=k, headers=hd) for k, v, hd in items]
                done = await asyncio.gather(*futures)
        except TimeoutError:
            self.last_error = "delivery timeout"
            raise TransientError(f"Kafka did not acknowledge the write within {self.timeout_s:g}s; nothing is "
                                 "accepted, retry the whole request (events already written are deduplicated "
                                 "by event id)") from None
        except Exception as exc:  # aiokafka raises KafkaError subclasses; any failure is "not accepted"
            self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            if type(exc).__name__ in _BROKEN_PRODUCER:
                self._renew(producer, self.last_error)
            raise TransientError(f"Kafka did not acknowledge the write: {type(exc).__name__}: {exc}; nothing is "
                                 "accepted, retry the whole request (events already written are deduplicated "
                                 "by event id)") from exc
        return [Written(md.topic, md.partition, md.offset) for md in done]

    def _renew(self, broken, reason: str) -> None:
        """Replace a producer left unusable (found by the broker-fault chaos test: after a broker restart the
        gateway answered 503 ``OutOfOrderSequenceNumber`` to every write, for good)."""
        if self._producer is not broken:
            return  # another request renewed it already
        self._producer = None
        log.get().warning("gateway_kafka_reconnect", reason=reason)
        loop = asyncio.get_running_loop()
        loop.create_task(_stop(broken))
        self._task = loop.create_task(self._connect(), name="gateway-kafka-connect")

    async def close(self) -> None:
        await cancel(self._task)
        self._task = None
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._producer.stop(), timeout=10)
            self._producer = None
