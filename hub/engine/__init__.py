"""The engine: batched, transactional stream processing on Kafka, with no hub knowledge (hub.processors run on it).

::

    Engine (one thread, one consumer group, one transactional producer per processor)
      └── Processor.process(batch)   plain code over a batch: read messages, read/write stores, send
          Processor.punctuate(...)   a timer inside the same kind of transaction
      Store (per input partition)    pending writes -> changelog topic in the same transaction
                                     (a record per key, or per batch: hub.engine.changelog)

See :mod:`hub.engine.engine` for the loop and its guarantees.
"""

from hub.engine.engine import Engine
from hub.engine.processor import BaseProcessor, Batch, Processor, StoreSpec
from hub.engine.store import Store

__all__ = ["BaseProcessor", "Batch", "Engine", "Processor", "Store", "StoreSpec"]
