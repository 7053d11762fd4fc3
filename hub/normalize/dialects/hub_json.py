"""hub-json: the hub's own documented JSON shape for new integrations (every kind).

A JSON object, an array of objects, or ``{"events": [...]}``; keys are the English snake_case
names of the canonical Avro fields (``docs/hub-json.schema.json`` is the reference, served in
the gateway's OpenAPI). Dossiers: ``dossier_code``, ``status`` (1..10 or the enum name),
``received_at`` (ISO 8601 or the national formats) …; ``applicant_id`` / ``handler_id`` become
keyed pseudonyms and are never carried. Documents: ``document_id``, ``from_organ_id``,
``to_organ_ids``, ``status_code`` ("01".."16") …. Targets: ``record_type`` (``TARGET_ASSIGNED`` /
``PROGRESS_REPORTED``), ``year``, ``program``, ``indicator_code``, ``target_value`` or ``actual_value``
and ``as_of`` … (:mod:`hub.normalize.targets`). An ``event_id`` is the publisher's own id and
drives deduplication; ``commune_code`` names the commune.
"""

from __future__ import annotations

from typing import Any

from hub.errors import Rejected
from hub.normalize import budget, canonical, decode, speakers, targets
from hub.normalize.context import Context, Envelope

FORMAT = "hub-json"
KIND = ("dossier", "document", "target")


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
    if env.kind == "target":
        return budget.map_items(objects(decode.json_document(raw)), lambda o: targets.target(o, ctx), "event")
    if env.kind == "dossier":
        return budget.map_items(objects(decode.json_document(raw)), lambda o: canonical.dossier(o, ctx), "event")
    return budget.map_items(objects(decode.json_document(raw)), lambda o: _document(o, env, ctx), "event")


def _document(obj: dict, env: Envelope, ctx: Context) -> dict:
    rec = canonical.document(obj, ctx, FORMAT)
    speakers.check(rec, env, ctx)  # from_organ_id is a claim: only the organ's own system may make it
    return rec
