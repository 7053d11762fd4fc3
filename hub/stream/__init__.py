"""Batched, transactional stream processing on Kafka: the hub's hot path and its analytics.

::

    Engine (one thread, one consumer group, one transactional producer per processor)
      └── Processor.process(batch)   plain code over a batch: read messages, read/write stores, send
          Processor.punctuate(...)   a timer inside the same kind of transaction
      Store (per input partition)    pending writes -> changelog topic in the same transaction
                                     (a record per key, or per batch: hub.stream.changelog)

See :mod:`hub.stream.engine` for the loop and its guarantees.
"""

from hub.stream.engine import Engine
from hub.stream.processor import BaseProcessor, Batch, Processor, StoreSpec
from hub.stream.store import Store

__all__ = ["BaseProcessor", "Batch", "Engine", "Processor", "Store", "StoreSpec"]
