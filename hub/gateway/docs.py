"""``GET /docs``: Swagger UI from the ``swagger-ui-bundle`` package, never from a CDN.

FastAPI's own ``/docs`` loads an unpinned script from a CDN without an integrity check, and ``/redoc`` does the
same: whoever controls that CDN (or the network path to it) would run code in an operator's browser on the
gateway's origin. Here the script, stylesheet and icon are read from the installed, pinned package and served
under ``/docs/assets/``; the page references no other host (the online validator badge is off) and a
Content-Security-Policy allows scripts from this origin plus the hash of the page's one inline script.
``HUB_GATEWAY_DOCS=0`` turns the page off; ``/openapi.json`` stays public (it is the contract).
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response

from hub import log

ASSETS = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8",
          "favicon-32x32.png": "image/png"}
_INLINE = re.compile(r"<script>(.*?)</script>", re.S)
router = APIRouter(include_in_schema=False)


@cache
def _asset(name: str) -> bytes | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return (swagger_ui_path / name).read_bytes()  # a Traversable inside the installed package


def available() -> bool:
    """Whether the Swagger UI assets are installed (``pip install swagger-ui-bundle``; ``make setup`` does it)."""
    return _asset("swagger-ui-bundle.js") is not None


@cache
def _page() -> tuple[bytes, str]:
    html = bytes(get_swagger_ui_html(
        openapi_url="/openapi.json", title="Commune Interconnection Hub — API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js", swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon-32x32.png",
        # validatorUrl null: otherwise Swagger UI asks validator.swagger.io for a badge, leaking the spec URL
        swagger_ui_parameters={"validatorUrl": None}).body)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                      for s in _INLINE.findall(html.decode()))
    # Swagger UI sets inline styles and shows data: images; nothing may leave this origin.
    csp = (f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
    return html, csp


def _headers(csp: str) -> dict[str, str]:
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY"}


@router.get("/docs")
async def docs() -> Response:
    body, csp = _page()
    return Response(body, media_type="text/html; charset=utf-8", headers=_headers(csp))


@router.get("/docs/assets/{name}")
async def asset(name: str) -> Response:
    media_type = ASSETS.get(name)  # a fixed list: never the package's index.html (it points at petstore.swagger.io)
    content = _asset(name) if media_type else None
    if content is None:
        return JSONResponse({"error": "not_found", "message": "no such asset"}, status_code=404)
    return Response(content, media_type=media_type, headers={"Cache-Control": "public, max-age=86400",
                                                             "X-Content-Type-Options": "nosniff"})


def mount(app: FastAPI, enabled: bool) -> None:
    """Serve /docs when enabled and the assets are installed; otherwise /docs is a plain 404."""
    if not enabled:
        return
    if not available():
        log.get().warning("gateway_docs_unavailable", reason="swagger-ui-bundle is not installed")
        return
    app.include_router(router)
