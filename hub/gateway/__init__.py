"""HTTP gateway: ingest for publishing systems, schema-registry read API, health and metrics."""

from hub.gateway.app import create_app

__all__ = ["create_app"]
