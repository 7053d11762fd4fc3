"""Bounds that keep one client from hurting the others: body size, body and header deadlines, in-flight cap."""

from __future__ import annotations

import contextlib
import select
import socket
from pathlib import Path

import httpx
import orjson
import pytest

from hub import systems
from hub.gateway.server import ServerThread
from hub.testing import free_port, wait_for
from tests.gateway.test_server import _healthy

MIB = 1024 * 1024
HUNDRED_MB = 100 * 1000 * 1000
POST_ROUTES = ["/v1/events/dossier", "/v1/events/document", "/registry/subjects/feed.dossier.v1-value",
               "/registry/subjects/feed.dossier.v1-value/versions"]
DOSSIER = {"MaHoSo": "L-1", "TrangThaiHoSo": "2", "MaXa": "23734", "NgayTiepNhan": "20250801083000"}


def _response(sock: socket.socket, timeout_s: float = 60) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 response until the server closes or its Content-Length is complete."""
    sock.settimeout(timeout_s)
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            break
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        part = sock.recv(65536)
        if not part:
            break
        body += part
    return int(lines[0].split()[1]), headers, body


def _head(path: str, extra: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in extra.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def stream_until_answered(port: int, path: str, headers: dict[str, str], total: int = HUNDRED_MB,
                          chunk: int = 256 * 1024) -> tuple[int, dict, bytes, int]:
    """POST a chunked body of ``total`` bytes without Content-Length, stopping as soon as the server answers.

    Returns (status, headers, body, bytes of body sent).
    """
    sent = 0
    piece = b"%x\r\n%s\r\n" % (chunk, b" " * chunk)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(_head(path, {**headers, "Transfer-Encoding": "chunked"}))
        try:
            while sent < total:
                if select.select([sock], [], [], 0)[0]:
                    break  # the answer came before the body was complete
                sock.sendall(piece)
                sent += chunk
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed its side after answering
        status, hdrs, body = _response(sock)
    return status, hdrs, body, sent


def _vm(pid: int, field: str) -> int:
    """A /proc/<pid>/status memory field (VmRSS, VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def test_100mb_chunked_bodies_are_413_on_every_post_route_and_rss_stays_bounded(make_settings, hub_process):
    """`python -m hub gateway` answers 413 to a 100 MB chunked body on every POST route as soon as the bound
    (4 MiB) is crossed, and its peak RSS grows by less than the bound plus 8 MiB.

    The margin covers what a refused body legitimately costs on top of its bytes: the bytearray's amortized
    over-allocation (up to 1/8), the chunk in flight (256 KiB) and uvicorn's own read buffer (64 KiB before it
    pauses the socket), plus allocator slack; the old gateway grew by the whole body (over 100 MB).
    """
    s = make_settings()
    key = systems.add(s, "ialy", ["23734"], ["dossier", "document"])
    port = free_port()
    proc = hub_process(["gateway", "--host", "127.0.0.1", "--port", str(port)], s)
    wait_for(lambda: _healthy(f"http://127.0.0.1:{port}/readyz"), timeout_s=60, what="gateway ready")
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:  # warm every route once
        assert client.post(POST_ROUTES[0], content=orjson.dumps(DOSSIER), headers=auth).status_code == 202
        assert client.post(POST_ROUTES[1], content=b"[]", headers=auth).status_code == 400
        for path in POST_ROUTES[2:]:
            assert client.post(path, content=b'{"schema": "\\"string\\""}').status_code in (404, 422)
    pid = proc.popen.pid
    # The peak so far is the start's (imports, the OpenAPI document): measure the streams' own peak from here.
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # 5: reset the peak resident set size (VmHWM) to VmRSS
    baseline = _vm(pid, "VmRSS")
    bound = s.gateway_max_body_bytes
    assert bound == 4 * MIB
    for path in POST_ROUTES:
        status, hdrs, body, sent = stream_until_answered(port, path, auth)
        assert status == 413, (path, status, body[:300])
        assert hdrs["connection"] == "close"
        answer = orjson.loads(body)
        # the registry's schema posts have a bound of their own (HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES, 256 KiB)
        limit = "262144" if path.startswith("/registry") else "4194304"
        assert answer["error"] == "payload_too_large" and limit in answer["message"], (path, answer)
        assert sent < 20 * MIB, (path, sent)  # stopped early: the answer came right after the bound
    growth = _vm(pid, "VmHWM") - baseline
    assert growth < bound + 8 * MIB, f"peak RSS grew by {growth / MIB:.1f} MiB"
    assert proc.popen.poll() is None


@pytest.fixture
def deadlines(make_settings):
    """A gateway with 1 s header and body deadlines and one system (ialy), with its key."""
    s = make_settings(gateway_header_timeout_ms=1000, gateway_body_timeout_ms=1000)
    key = systems.add(s, "ialy", ["23734"], ["dossier"])
    with ServerThread(s) as srv:
        yield srv, key


@pytest.mark.parametrize("path", [POST_ROUTES[0], POST_ROUTES[2]])
def test_a_stalled_body_is_408(deadlines, path):
    """A body that declares 100 bytes and sends 10 is answered 408 request_timeout and the connection closed."""
    srv, key = deadlines
    with socket.create_connection(("127.0.0.1", srv.port), timeout=60) as sock:
        sock.sendall(_head(path, {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                                  "Content-Length": "100"}) + b'{"MaHoSo":')
        status, hdrs, body = _response(sock)
    assert status == 408 and hdrs["connection"] == "close"
    assert orjson.loads(body)["error"] == "request_timeout"


def test_stalled_headers_are_408(deadlines):
    """Headers that never complete are answered 408 request_timeout; so is a connection that sends nothing."""
    srv, _key = deadlines
    for start in (b"POST /v1/events/dossier HTTP/1.1\r\nHost: 127.0.0.1\r\n", b""):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=60) as sock:
            sock.sendall(start)
            status, hdrs, body = _response(sock)
        assert status == 408 and hdrs["connection"] == "close"
        assert orjson.loads(body) == {"error": "request_timeout", "message": "the request headers did not arrive "
                                      "within HUB_GATEWAY_HEADER_TIMEOUT_MS"}


def test_requests_over_the_in_flight_cap_are_503_at_once(make_settings):
    """With one request in flight (its body stalled) and a cap of 1, the next request is 503 overloaded
    with Retry-After, while /healthz still answers."""
    s = make_settings(gateway_max_in_flight=1, gateway_body_timeout_ms=60_000)
    with ServerThread(s) as srv, socket.create_connection(("127.0.0.1", srv.port), timeout=60) as holder:
        holder.sendall(_head(POST_ROUTES[2], {"Content-Type": "application/json", "Content-Length": "100"}) + b"{")
        refused = wait_for(lambda: (r := httpx.get(f"{srv.url}/registry/subjects")).status_code == 503 and r,
                           timeout_s=30, what="the second request refused")
        assert refused.headers["retry-after"] == "1" and refused.json()["error"] == "overloaded"
        assert httpx.get(f"{srv.url}/healthz").status_code == 200
        holder.close()
        wait_for(lambda: httpx.get(f"{srv.url}/registry/subjects").status_code == 200, timeout_s=30,
                 what="the slot freed")


def test_oversized_headers_are_refused(deadlines):
    """A request whose headers exceed 32 KiB is refused with a JSON 431 and the connection closed."""
    srv, _key = deadlines
    with socket.create_connection(("127.0.0.1", srv.port), timeout=60) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n")
        status, hdrs, body = _response(sock)
    assert status == 431 and hdrs["connection"] == "close"
    assert orjson.loads(body)["error"] == "payload_too_large"
