"""The FastAPI application: one router per concern, mounted here."""

from __future__ import annotations

from fastapi import FastAPI

from hub.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    app = FastAPI(title="Commune Interconnection Hub", version="1",
                  description="Ingest for commune systems, Confluent-compatible schema registry (read-only), "
                              "health and metrics.")
    app.state.settings = settings
    from hub.gateway import registry_api

    app.include_router(registry_api.router, prefix="/registry")
    return app
