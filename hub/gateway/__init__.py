"""The gateway process shell: the app, server, auth, limits and ops that mount hub.ingest, hub.read, hub.dashboard."""

from hub.gateway.app import create_app

__all__ = ["create_app"]
