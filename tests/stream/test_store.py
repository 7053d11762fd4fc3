"""hub.engine.store: pending writes are visible to their batch, kept on commit, dropped on abort; both backends."""

from __future__ import annotations

import pytest

from hub.engine.store import MemoryBackend, RocksBackend, Store


@pytest.fixture(params=["memory", "rocksdb"])
def store(request, tmp_path):
    backend = MemoryBackend() if request.param == "memory" else RocksBackend(tmp_path / "db")
    st = Store("dedupe", "t-changelog", 2, backend)
    yield st
    st.close()


def test_pending_writes_are_read_back_and_committed(store):
    """A batch reads its own writes; after commit they are the store's, and the pending set is empty."""
    store.put(b"a", b"1")
    store.put(b"b", b"2")
    assert store.get(b"a") == b"1" and store.pending() == {b"a": b"1", b"b": b"2"}
    store.commit()
    assert store.pending() == {} and store.get(b"b") == b"2"
    store.delete(b"a")
    assert store.get(b"a") is None
    store.commit()
    assert store.get(b"a") is None and dict(store.items()) == {b"b": b"2"}


def test_abort_forgets_the_batch(store):
    """An aborted batch leaves the committed state as it was (deletes included)."""
    store.put(b"k", b"old")
    store.commit()
    store.put(b"k", b"new")
    store.delete(b"k")
    store.put(b"other", b"x")
    store.abort()
    assert store.get(b"k") == b"old" and store.get(b"other") is None and store.pending() == {}


def test_items_by_prefix_merge_pending_writes(store):
    """items(prefix) lists committed entries overlaid with the batch's pending puts and deletes."""
    for k in (b"23734|A", b"23734|B", b"23728|C"):
        store.put(k, b"v")
    store.commit()
    store.put(b"23734|D", b"new")
    store.delete(b"23734|A")
    assert sorted(k for k, _ in store.items(b"23734|")) == [b"23734|B", b"23734|D"]


def test_restore_applies_changelog_records(store):
    """Restored changelog records (tombstones included) become committed state without pending writes."""
    store.restore({b"x": b"1", b"y": b"2"})
    store.restore({b"x": None})
    assert store.get(b"x") is None and store.get(b"y") == b"2" and store.pending() == {}


def test_memory_backend_drops_the_oldest_while_the_predicate_holds():
    """Expiry walks insertion (= time) order and stops at the first entry still young."""
    st = Store("dedupe", "t", 0, MemoryBackend())
    for i, t in enumerate((100, 200, 300, 150)):
        st.put(b"e%d" % i, b"%d" % t)
    st.commit()
    assert st.drop_while(lambda _k, v: int(v) < 250) == 2
    assert [k for k, _ in st.items()] == [b"e2", b"e3"]


def test_rocksdb_stores_answer_absent_keys_from_a_bloom_filter(tmp_path):
    """Most dedupe lookups are of new events: RocksDB is opened with a Bloom filter, so they skip SST files."""
    backend = RocksBackend(tmp_path / "db")
    try:
        options = sorted((tmp_path / "db").glob("OPTIONS-*"))[-1].read_text()
        assert "filter_policy=bloomfilter" in [line.strip() for line in options.splitlines()]
        backend.apply({b"seen": b"1"})
        assert backend.get(b"seen") == b"1" and backend.get(b"new") is None
    finally:
        backend.close()
