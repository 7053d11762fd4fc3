"""The registry's writes, all refused as Confluent refuses them in mode READONLY, and Confluent's errors for the
routes and methods it does not have.

Every write route of Confluent's API that standard clients call (config, mode, subject and version deletes,
contexts) answers 422 with error code 42205 and one log line per refusal; registering is in
hub.read.registry_api (a schema already under the subject gets its id). What matches no route answers in
Confluent's format as well — Jersey's ``{"error_code": 404, "message": "HTTP 404 Not Found"}``, or 405 with an
``Allow`` header naming every method the path serves — because clients print ``error_code`` ("SR code None"
otherwise); ``OPTIONS`` answers 204 with that ``Allow`` header.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from starlette.routing import Route

from hub.read.registry_core import RegistryJSON, error, read_only

router = APIRouter(tags=["registry"], default_response_class=RegistryJSON)

_WRITES = [
    ("/config", ["PUT", "DELETE"]), ("/config/", ["PUT", "DELETE"]), ("/config/{subject}", ["PUT", "DELETE"]),
    ("/mode", ["PUT", "DELETE"]), ("/mode/", ["PUT", "DELETE"]), ("/mode/{subject}", ["PUT", "DELETE"]),
    ("/subjects/{subject}", ["DELETE"]), ("/subjects/{subject}/versions/{version}", ["DELETE"]),
    ("/contexts/{context}", ["DELETE"]),
]


async def refuse(request: Request) -> RegistryJSON:
    """A write: refused, the registry is read-only (its body, if any, is not read)."""
    return read_only(request, request.path_params.get("subject"))


for _path, _methods in _WRITES:
    router.add_api_route(_path, refuse, methods=_methods, include_in_schema=False)

_EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def _routes(router: APIRouter) -> Iterator[Route]:
    """Every route of ``router``, through the routers it includes (FastAPI keeps those nested)."""
    for route in router.routes:
        nested = getattr(route, "original_router", None)
        if isinstance(nested, APIRouter):
            yield from _routes(nested)
        elif isinstance(route, Route) and route.endpoint is not unmatched:
            yield route


def _served_methods(path: str) -> set[str]:
    """Methods the registry's routes serve at ``path`` (relative to /registry; this catch-all aside)."""
    from hub.read.registry_api import router as registry_router  # the router that includes this one

    methods: set[str] = set()
    for route in _routes(registry_router):
        if route.methods and route.path_regex.match(path):
            methods |= route.methods
    return methods


@router.api_route("/{rest:path}", methods=_EVERY_METHOD, include_in_schema=False)
async def unmatched(rest: str, request: Request) -> Response:
    """No registry route has this path and method: Confluent's 404 or 405 (OPTIONS: the methods served)."""
    methods = _served_methods("/" + rest)
    if not methods:
        return error(404, 404, "HTTP 404 Not Found")
    allow = {"Allow": ", ".join(sorted(methods | {"OPTIONS"}))}
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=allow)
    return error(405, 405, "HTTP 405 Method Not Allowed", headers=allow)
