"""Reading a topic round after round without losing what is written during a round (the read model's feeds).

:class:`FeedCursor` reads with :func:`hub.kafka.read.drain`, as every reader does, and keeps its own
start offsets: where the next round starts is the end offset this round read up to (see the class).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kafka.errors import KafkaError

from hub.kafka import read as kafka_read
from hub.settings import Settings

EndsHook = Callable[[str, dict[int, int]], None]  # (topic, {partition: end offset}): a test seam


class FeedCursor:
    """One feed's consumer, and where the next round starts in each partition.

    The start offsets are the reader's own, never the consumer's position: a poll may return records
    written after the round took its end offsets (the broker sends whatever the partition holds by
    then). Those are left for the next round, but the consumer's position has already moved past
    them, so a round that went on from the position would lose them for good. Each round therefore
    seeks every partition it reads to the end offset the previous round read up to.
    """

    def __init__(self, settings: Settings, topic: str, *, client: str, timeout_s: float) -> None:
        self.settings, self.topic = settings, topic
        self.kafka = kafka_read.consumer(settings, client, timeout_s=timeout_s)
        try:
            self.tps = kafka_read.partitions(self.kafka, topic, settings)
            self.kafka.assign(self.tps)
        except KafkaError as exc:
            self.kafka.close()
            raise kafka_read.unreachable(settings, exc) from exc
        except BaseException:
            self.kafka.close()
            raise
        # 0 is "the beginning": an offset deleted by retention resets to the earliest (auto_offset_reset)
        self.starts = {tp: 0 for tp in self.tps}

    def read(self, timeout_s: float, on_ends: EndsHook | None = None) -> Iterator[Any]:
        """The records between the starts and the end offsets of now (the last stable offsets: only
        committed transactions); the starts move to those end offsets once every record below them
        was yielded. TransientError when no progress is made for ``timeout_s``."""
        try:
            ends = self.kafka.end_offsets(self.tps)
            if on_ends is not None:
                on_ends(self.topic, {tp.partition: end for tp, end in ends.items()})
            wanted = {tp: end for tp, end in ends.items() if self.starts[tp] < end}
            if not wanted:
                return
            self.kafka.pause(*[tp for tp in self.tps if tp not in wanted])
            self.kafka.resume(*wanted)
            for tp in wanted:
                self.kafka.seek(tp, self.starts[tp])
            yield from kafka_read.drain(self.settings, self.kafka, wanted, timeout_s, self.topic)
        except KafkaError as exc:
            raise kafka_read.unreachable(self.settings, exc) from exc
        self.starts.update(wanted)

    def close(self) -> None:
        self.kafka.close()
