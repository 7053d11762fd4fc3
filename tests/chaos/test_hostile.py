"""Hostile input at every door (issue 13 item 4): the gateway, raw records in ingest.*, the drop folder.

Every input is accounted for: an HTTP request ends in one of the 4xx statuses it may end in, an injected
record in exactly one dead letter with an allowed reason (matched by its origin topic, partition and
offset), a file in ``rejected/`` with its reason (or, well-formed but invalid inside, its records
dead-lettered). Nothing reaches the feed; the gateway and the worker are alive at the end and answer.
A few slow clients (headers trickled byte by byte) stay open meanwhile.

Size: 2,000 inputs by default (800 requests, 900 records, 300 files); ``HUB_CHAOS_SCALE=N`` multiplies them
(``make chaos``: N=5, 10,000 inputs).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import Counter

import httpx
import pytest
from confluent_kafka import Producer

from chaos import hostile
from chaos.workload import size
from connectors import filedrop
from hub import systems
from hub.contract import headers as h
from hub.contract import topics
from hub.testing import free_port, read_topic, wait_for

pytestmark = pytest.mark.integration

SCALE = max(1.0, float(os.environ.get("HUB_CHAOS_SCALE", "1")))
N_REQUESTS, N_RECORDS, N_FILES = size(800, SCALE), size(900, SCALE), size(300, SCALE)
SLOW_CLIENTS = 8
PUBLISHER, DROP = "chaos-hx-publisher", "chaos-hx-drop"
LIMITS = dict(gateway_max_body_bytes=65_536, max_payload_bytes=16_384, gateway_max_batch=50)


def _slow_client(port: int, stop: threading.Event, outcome: list) -> None:
    """Headers one byte every 0.2 s, never finished: the server must not wait for it forever nor stall."""
    line = b"POST /v1/events/dossier HTTP/1.1\r\nHost: hub\r\nX-Slow: " + b"s" * 10_000
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            for byte in line:
                if stop.is_set():
                    outcome.append("open at the end")
                    return
                sock.sendall(bytes([byte]))
                time.sleep(0.2)
            outcome.append("never cut")
    except OSError as exc:
        outcome.append(f"cut by the server ({type(exc).__name__})")


def test_ten_thousand_hostile_inputs_are_each_refused_with_a_reason(make_settings, hub_process, tmp_path,
                                                                   record_property):
    port = free_port()
    s = make_settings(gateway_port=port, **LIMITS)
    keys = {"publisher": systems.add(s, PUBLISHER, [hostile.IN_SCOPE], ["dossier"]),
            "reader": systems.add(s, "chaos-hx-reader", role="reader"),
            "revoked": systems.add(s, "chaos-hx-revoked", [hostile.IN_SCOPE], ["dossier"]),
            "documents": systems.add(s, "chaos-hx-docs", ["23749"], ["document"], ["000.23.749.H41"])}
    systems.revoke(s, "chaos-hx-revoked")
    systems.add(s, DROP, [hostile.IN_SCOPE], ["dossier", "document"])
    worker = hub_process(["worker"], s, name="worker")
    gateway = hub_process(["gateway", "--host", "127.0.0.1", "--port", str(port)], s, name="gateway")
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=30) as client:
        wait_for(lambda: _status(client, "/readyz") == 200, timeout_s=120, what="gateway ready")

        # --- the gateway, with slow clients hanging on meanwhile ---
        stop, slow = threading.Event(), []
        slowpokes = [threading.Thread(target=_slow_client, args=(port, stop, slow), daemon=True)
                     for _ in range(SLOW_CLIENTS)]
        for t in slowpokes:
            t.start()
        statuses: Counter = Counter()
        unexpected: list[str] = []
        started = time.monotonic()
        for req in hostile.requests(N_REQUESTS, keys, max_body=LIMITS["gateway_max_body_bytes"],
                                    max_batch=LIMITS["gateway_max_batch"]):
            try:
                r = client.request(req.method, req.path, headers=req.headers, content=req.body)
                code = r.status_code
            except httpx.TransportError as exc:
                code, r = 0, exc
            statuses[(req.category, code)] += 1
            if code not in req.expect:
                unexpected.append(f"{req.category} {req.method} {req.path} -> {code} (expected "
                                  f"{sorted(req.expect)}): {getattr(r, 'text', r)!s:.200}")
        http_s = time.monotonic() - started
        phases = {"http": http_s}
        stop.set()
        for t in slowpokes:
            t.join(30)
        assert _status(client, "/healthz") == 200

    # --- raw records straight into ingest.* ---
    # murmur2 as Kafka's Java clients and the SDK: a record on another partition than its key's is refused
    # (wrong_partition), and these records must be judged on their content and headers
    producer = Producer({"bootstrap.servers": s.kafka_bootstrap, "log_level": 3, "partitioner": "murmur2_random",
                         "message.max.bytes": 4 * LIMITS["max_payload_bytes"] + 100_000})
    injected: dict[tuple[str, int, int], hostile.Injected] = {}
    errors: list[str] = []

    def delivered(err, msg, item):
        if err is not None:
            errors.append(str(err))
        else:
            injected[(msg.topic(), msg.partition(), msg.offset())] = item

    for item in hostile.records(N_RECORDS, publisher=PUBLISHER, max_payload=LIMITS["max_payload_bytes"]):
        producer.produce(s.topic(item.topic), value=item.value, key=hostile.IN_SCOPE.encode(), headers=item.headers,
                         on_delivery=lambda err, msg, item=item: delivered(err, msg, item))
        producer.poll(0)
    producer.flush(60)
    phases["inject"] = time.monotonic() - started - sum(phases.values())
    assert not errors and len(injected) == N_RECORDS, errors[:3]

    # --- the drop folder ---
    folder = tmp_path / "drop"
    folder.mkdir()
    expected_files: dict[str, str | None] = {}
    for name, content, reason in hostile.files(N_FILES, max_payload=LIMITS["max_payload_bytes"]):
        (folder / name).write_bytes(content)
        expected_files[name] = reason
    summary = filedrop.FileDrop(folder, DROP, s).run_once()
    phases["files"] = time.monotonic() - started - sum(phases.values())
    published_files = [n for n, r in expected_files.items() if r is None]
    wrong_files = [f"{n}: {summary.rejected.get(n)} (expected {r})" for n, r in expected_files.items()
                   if r is not None and summary.rejected.get(n) != r]
    reasons_on_disk = {p.name[:-len(".reason.txt")] for p in (folder / "rejected").glob("*.reason.txt")}

    # --- what the hub made of it ---
    expect_letters = N_RECORDS + summary.events
    letters = read_topic(s, s.topic(topics.DLQ), expect=expect_letters, timeout_s=300)
    by_origin: dict[tuple[str, int, int], list[str]] = {}
    drop_letters: Counter = Counter()
    for r in letters:
        origin = (r.headers.get(h.ERR_TOPIC, ""), int(r.headers.get(h.ERR_PARTITION, -1)),
                  int(r.headers.get(h.ERR_OFFSET, -1)))
        if origin in injected:
            by_origin.setdefault(origin, []).append(r.headers.get(h.ERR_REASON, ""))
        elif r.headers.get(h.SOURCE) == DROP:
            drop_letters[r.headers.get(h.ERR_REASON, "")] += 1
    wrong_records = [f"{item.topic} {item.headers[:3]!r:.120}: {by_origin.get(origin)} (expected "
                     f"{sorted(item.expect)})" for origin, item in injected.items()
                     if len(by_origin.get(origin, [])) != 1 or by_origin[origin][0] not in item.expect]
    feed = read_topic(s, s.topic(topics.FEED_DOSSIER), timeout_s=10)
    phases["dead letters"] = time.monotonic() - started - sum(phases.values())
    record_reasons = Counter(reason for rs in by_origin.values() for reason in rs)
    alive = {"gateway": gateway.popen.poll() is None, "worker": worker.popen.poll() is None}

    total = N_REQUESTS + N_RECORDS + N_FILES
    line = (f"{total} hostile inputs: {N_REQUESTS} requests in {http_s:.1f}s "
            f"({sum(n for (_, c), n in statuses.items() if 400 <= c < 500)} 4xx, {len(unexpected)} unexpected; "
            f"{SLOW_CLIENTS} slow clients: {dict(Counter(slow))}), {N_RECORDS} records "
            f"({sum(len(v) for v in by_origin.values())} dead letters, {len(wrong_records)} wrong), {N_FILES} files "
            f"({summary.files_rejected} rejected, {len(published_files)} well-formed with invalid records: "
            f"{summary.files_done} published -> {sum(drop_letters.values())} dead letters, {summary.files_skipped} "
            f"skipped as copies; {len(wrong_files)} wrong); feed records {len(feed)}; "
            f"alive {alive}")
    record_property("chaos_hostile", line)
    print(line)
    print("statuses", dict(sorted(statuses.items())))
    print("record reasons", dict(record_reasons), "drop reasons", dict(drop_letters))
    print("drop summary", summary.as_dict() | {"rejected": len(summary.rejected)}, "letters", len(letters))
    print("phases", {k: round(v, 1) for k, v in phases.items()})
    for what, items in (("requests", unexpected), ("records", wrong_records), ("files", wrong_files)):
        print(f"unexpected {what}: {len(items)}", Counter(x[:90] for x in items).most_common(12))
    assert not unexpected, unexpected[:10]
    assert not wrong_records, wrong_records[:10]
    assert not wrong_files, wrong_files[:10]
    assert reasons_on_disk == {n for n, r in expected_files.items() if r is not None}
    # Well-formed files: published (their records dead-lettered), or skipped as a byte-identical copy of one.
    assert summary.files_done + summary.files_skipped == len(published_files) and summary.files_waiting == 0
    assert sum(drop_letters.values()) == summary.events == summary.files_done
    assert not feed, [r.headers for r in feed[:3]]
    assert alive == {"gateway": True, "worker": True}, (gateway.output()[-2000:], worker.output()[-2000:])
    assert "never cut" not in slow


def _status(client: httpx.Client, path: str) -> int:
    try:
        return client.get(path).status_code
    except httpx.TransportError:
        return 0
