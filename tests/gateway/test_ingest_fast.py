"""The ingest fast path serves exactly the POST routes it is given, through the application's own error handlers."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from hub.ingest.fast import IngestFastPath


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"", "headers": headers or [], "http_version": "1.1", "scheme": "http",
            "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 50000)}


def _stack():
    app = FastAPI()
    router = APIRouter()

    async def post(request: Request) -> Response:
        if request.headers.get("x-fail"):
            raise LookupError("no such thing")
        return Response(b"served", status_code=202)

    router.add_api_route("/v1/events/dossier", post, methods=["POST"])
    app.include_router(router)

    @app.exception_handler(LookupError)
    async def looked_up(request: Request, exc: LookupError) -> JSONResponse:
        return JSONResponse({"error": "looked_up", "message": str(exc)}, status_code=418)

    passed_on: list[tuple[str, str]] = []

    async def inner(scope, receive, send) -> None:
        passed_on.append((scope["method"], scope["path"]))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})

    return IngestFastPath(inner, fastapi_app=app, routes=router.routes), passed_on


def _call(asgi, scope: dict) -> tuple[int, bytes]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(asgi(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_a_post_to_a_given_route_is_served_by_its_endpoint_with_the_route_in_the_scope():
    """The endpoint answers; the next layer is not called; the scope names the route for the metrics."""
    fast, passed_on = _stack()
    scope = _scope("POST", "/v1/events/dossier")
    assert _call(fast, scope) == (202, b"served")
    assert passed_on == []
    assert scope["route"].path == "/v1/events/dossier"


def test_an_endpoint_error_goes_through_the_applications_handler():
    """A LookupError becomes the app's 418 JSON answer, as FastAPI's exception middleware would make it."""
    fast, _ = _stack()
    status, body = _call(fast, _scope("POST", "/v1/events/dossier", [(b"x-fail", b"1")]))
    assert (status, body) == (418, b'{"error":"looked_up","message":"no such thing"}')


def test_other_methods_and_paths_pass_on_to_the_application():
    """GET on the route, a trailing slash and another path reach the next layer unchanged."""
    fast, passed_on = _stack()
    for method, path in (("GET", "/v1/events/dossier"), ("POST", "/v1/events/dossier/"), ("POST", "/other")):
        assert _call(fast, _scope(method, path)) == (299, b"inner")
    assert passed_on == [("GET", "/v1/events/dossier"), ("POST", "/v1/events/dossier/"), ("POST", "/other")]
