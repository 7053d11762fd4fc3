"""How a store's committed writes become changelog records, and how restore reads them back.

Two layouts, chosen per store (:class:`hub.engine.processor.StoreSpec`):

* **per key** (the default): one record per written key, the value (or a tombstone) as the
  record's value. The topic is compacted, so it holds one record per live key however often a key
  changes — right for state that is updated in place (KPI counters, directive reach).
* **per batch** (``batched``, expiring stores only): one record per transaction and partition,
  holding every key the batch wrote (chunked below ``_CHUNK_BYTES``), marked by the header
  ``hub.changelog: batch`` and keyed by a random id. Right for state that is mostly appended and
  forgotten by age — the dedupe store writes one new key per event and never updates it — where a
  record per key doubles the records the worker produces and the broker stores. Compaction has
  nothing to merge there (every key is new); the topic's ``retention.ms`` drops records once
  every entry in them is older than the window, as it would per-key records.

Restore reads both layouts (a topic written per key by an earlier version stays readable), in
offset order, so a later write of a key wins either way.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.engine.store import Store

HEADER = "hub.changelog"
BATCH = b"batch"
BATCH_HEADERS = [(HEADER, BATCH)]
_CHUNK_BYTES = 256 * 1024  # far below the producer's message.max.bytes (>= 1 MiB)
_LEN = struct.Struct(">I")
_TOMBSTONE = 0xFFFFFFFF  # a value length that marks a deleted key


def pack(writes: dict[bytes, bytes | None]) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of the batch records holding ``writes``: the number of entries, then
    length-prefixed key, value pairs (a count, so that a record cut between entries is refused too)."""
    parts: list[bytes] = [b""]  # the count, set when the chunk is complete
    n = size = 0
    for k, v in writes.items():
        parts.append(_LEN.pack(len(k)))
        parts.append(k)
        if v is None:
            parts.append(_LEN.pack(_TOMBSTONE))
        else:
            parts.append(_LEN.pack(len(v)))
            parts.append(v)
        n += 1
        size += 8 + len(k) + (len(v) if v is not None else 0)
        if size >= _CHUNK_BYTES:
            parts[0] = _LEN.pack(n)
            yield _batch_key(), b"".join(parts)
            parts, n, size = [b""], 0, 0
    if n:
        parts[0] = _LEN.pack(n)
        yield _batch_key(), b"".join(parts)


def unpack(data: bytes, into: dict[bytes, bytes | None]) -> int:
    """Add the writes one batch record holds to ``into`` (in the order written); returns how many.

    A record that ends inside an entry raises ``ValueError``: the restore stops loudly rather than
    rebuild a store that silently misses writes."""
    n, i, end = 0, 4, len(data)
    try:
        (count,) = _LEN.unpack_from(data, 0)
        while n < count:
            (klen,) = _LEN.unpack_from(data, i)
            key = data[i + 4:i + 4 + klen]
            i += 4 + klen
            (vlen,) = _LEN.unpack_from(data, i)
            i += 4
            if vlen == _TOMBSTONE:
                value = None
            else:
                value = data[i:i + vlen]
                i += vlen
            if len(key) != klen or (value is not None and len(value) != vlen):
                raise struct.error("record ends inside an entry")
            into.pop(key, None)  # a key written again moves to the end: insertion order stays time order
            into[key] = value
            n += 1
    except struct.error as exc:
        raise ValueError(f"batch changelog record is truncated at byte {i} of {end} (entry {n + 1}): {exc}") from exc
    if i != end:
        raise ValueError(f"batch changelog record has {end - i} bytes after its {n} entries")
    return n


def is_batch(headers: Collection[object] | None) -> bool:
    """Whether a consumed record's headers (a list of (name, value) pairs, or None) mark a batch."""
    return headers is not None and (HEADER, BATCH) in headers


def _batch_key() -> bytes:
    # Unique, or compaction would keep only the last of two batches with one key.
    return b"batch-" + uuid.uuid4().hex.encode()


def write_pending(stores: Mapping[str, Mapping[Any, Store]], produce: Callable[..., None]) -> int:
    """Send every store's pending writes to its changelog with ``produce(topic, key, value, headers,
    partition=)`` (the engine's, inside the batch's transaction); returns the state changes written."""
    n = 0
    for by_tp in stores.values():
        for store in by_tp.values():
            pending = store.pending()
            if not pending:
                continue
            if store.batched:
                for key, value in pack(pending):
                    produce(store.changelog, key, value, BATCH_HEADERS, partition=store.partition)
            else:
                for key, change in pending.items():
                    produce(store.changelog, key, change, None, partition=store.partition)
            n += len(pending)
    return n
