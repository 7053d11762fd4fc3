"""hub-json: the hub's own documented JSON shape for new integrations (both kinds).

A JSON object, an array of objects, or ``{"events": [...]}``; keys are the English snake_case
names of the canonical Avro fields (``docs/hub-json.schema.json`` is the reference, served in
the gateway's OpenAPI). Dossiers: ``dossier_code``, ``status`` (1..10 or the enum name),
``received_at`` (ISO 8601 or the national formats) …; ``applicant_id`` / ``handler_id`` become
keyed pseudonyms and are never carried. Documents: ``document_id``, ``from_organ_id``,
``to_organ_ids``, ``status_code`` ("01".."16") …. An ``event_id`` is the publisher's own id and
drives deduplication; ``commune_code`` names the commune.
"""

from __future__ import annotations

from typing import Any

from hub.errors import Rejected
from hub.normalize import canonical
from hub.normalize.context import Context, Envelope
from hub.normalize.dialects.dvcqg import load_json

FORMAT = "hub-json"
KIND = ("dossier", "document")


def objects(doc: Any) -> list[dict]:
    """The event objects of a hub-json payload."""
    if isinstance(doc, dict) and isinstance(doc.get("events"), list) and len(doc) == 1:
        doc = doc["events"]
    if isinstance(doc, dict):
        return [doc]
    if isinstance(doc, list) and doc and all(isinstance(x, dict) for x in doc):
        return doc
    raise Rejected("malformed_json",
                   'expected a JSON object, a non-empty array of objects or {"events": [...]}', stage="parse")


def parse(raw: bytes, env: Envelope, ctx: Context) -> list[dict]:
    out = []
    items = objects(load_json(raw))
    for i, obj in enumerate(items):
        try:
            if env.kind == "dossier":
                out.append(canonical.dossier(obj, ctx))
            else:
                out.append(canonical.document(obj, ctx, FORMAT))
        except Rejected as exc:
            if len(items) == 1:
                raise
            raise Rejected(exc.reason, f"event {i}: {exc.message}", stage=exc.stage,
                           field=exc.field) from None
    return out
