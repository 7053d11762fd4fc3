"""Avro in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary.

Schema ids come from the committed lock file ``hub/schemas/registry.json``, so the same schema has
the same id on every machine and after every redeploy. ``hub schemas check`` (hub.contract.registry)
verifies the lock; this module only reads it.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import fastavro

from hub.contract import avro_writer
from hub.errors import SchemaError

MAGIC = 0
_HEADER = struct.Struct(">bI")
LOCK_FILE = "registry.json"


@dataclass(frozen=True)
class SchemaVersion:
    subject: str
    version: int
    id: int
    file: str
    text: str  # canonical JSON text served by the registry API
    parsed: Any  # fastavro parsed schema (decoding)
    write: Any = None  # compiled encoder (hub.contract.avro_writer): datum, prefix -> bytes
    plain: Any = None  # fastavro parsed schema without logical types: timestamps stay integer ms


def read_lock(folder: str | Path) -> dict[str, list[dict[str, Any]]]:
    """``{subject: [{"version", "id", "file"}, ...]}`` from the folder's lock file."""
    lock_path = Path(folder) / LOCK_FILE
    try:
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaError(f"cannot read schema lock {lock_path}: {exc}") from exc
    subjects = lock.get("subjects") if isinstance(lock, dict) else None
    if not isinstance(subjects, dict):
        raise SchemaError(f"schema lock {lock_path} has no 'subjects' object")
    for subject, versions in subjects.items():
        if not isinstance(versions, list) or not all(
                isinstance(v, dict) and isinstance(v.get("version"), int) and isinstance(v.get("id"), int)
                and isinstance(v.get("file"), str) for v in versions):
            raise SchemaError(f"schema lock {lock_path}: subject {subject!r} must list "
                              '{"version": int, "id": int, "file": str} entries')
    return subjects


def read_schema_file(folder: str | Path, file: str) -> Any:
    """The JSON of one .avsc file, or a SchemaError naming the file."""
    path = Path(folder) / file
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaError(f"cannot read schema file {path}: {exc}") from exc


class Schemas:
    """The schema lock: subjects, versions and ids read from a schemas folder."""

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        self.folder = folder
        self.lock_path = folder / LOCK_FILE
        self.by_id: dict[int, SchemaVersion] = {}
        self.subjects: dict[str, list[SchemaVersion]] = {}
        for subject, versions in read_lock(folder).items():
            for v in sorted(versions, key=lambda v: v["version"]):
                raw = read_schema_file(folder, v["file"])
                if v["id"] in self.by_id:
                    raise SchemaError(f"schema id {v['id']} is used twice in {self.lock_path}")
                try:
                    # Parsed once with fastavro's hint so encode/decode never re-parse (3x faster).
                    parsed = fastavro.parse_schema(raw, named_schemas={})
                except Exception as exc:  # fastavro raises several types for a bad schema
                    raise SchemaError(f"schema file {folder / v['file']} is not a valid Avro schema: "
                                      f"{exc}") from exc
                sv = SchemaVersion(subject, v["version"], v["id"], v["file"],
                                   json.dumps(raw, ensure_ascii=False, separators=(",", ":")), parsed,
                                   avro_writer.compile_schema(raw),
                                   fastavro.parse_schema(_without_logical_types(raw), named_schemas={}))
                self.by_id[sv.id] = sv
                self.subjects.setdefault(subject, []).append(sv)

    def latest(self, subject: str) -> SchemaVersion:
        try:
            return self.subjects[subject][-1]
        except (KeyError, IndexError):
            raise SchemaError(f"unknown subject {subject!r} (known: {', '.join(sorted(self.subjects))})") \
                from None

    def version(self, subject: str, version: int) -> SchemaVersion:
        for sv in self.subjects.get(subject, []):
            if sv.version == version:
                return sv
        raise SchemaError(f"subject {subject!r} has no version {version}")

    def get(self, schema_id: int) -> SchemaVersion:
        try:
            return self.by_id[schema_id]
        except KeyError:
            known = ", ".join(str(i) for i in sorted(self.by_id))
            raise SchemaError(f"unknown schema id {schema_id}: not in the schema lock {self.lock_path} "
                              f"(known ids: {known}); the record was written with a schema this hub "
                              "does not have") from None


@cache
def load(folder: str) -> Schemas:
    return Schemas(folder)


def encode(sv: SchemaVersion, record: dict[str, Any]) -> bytes:
    """Confluent-framed Avro bytes of ``record`` under schema version ``sv``.

    Raises TypeError or ValueError when the record does not fit the schema.
    """
    return sv.write(record, _HEADER.pack(MAGIC, sv.id))


def schema_id(data: bytes) -> int:
    if len(data) < 5 or data[0] != MAGIC:
        raise SchemaError("not Confluent wire format (magic byte 0 + 4-byte schema id expected)")
    return _HEADER.unpack_from(data)[1]


def _without_logical_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [_without_logical_types(v) for v in schema]
    return schema


def decode_plain(schemas: Schemas, data: bytes) -> dict[str, Any]:
    """Decode framed bytes with their writer schema, timestamps as integer UTC milliseconds.

    What the hub's own processors read (the analytics work on integer time); raises SchemaError.
    """
    writer = schemas.get(schema_id(data))
    try:
        # every hub schema is a record, so the datum is a dict
        return cast(dict[str, Any], fastavro.schemaless_reader(io.BytesIO(data[5:]), writer.plain, None))
    except Exception as exc:  # noqa: BLE001 - truncated bytes, bad unions: one clear error
        raise SchemaError(f"cannot decode a record written with schema id {writer.id} ({writer.subject} "
                          f"v{writer.version}): {type(exc).__name__}: {exc}") from exc


def decode(schemas: Schemas, data: bytes, reader: SchemaVersion | None = None) -> dict[str, Any]:
    """Decode framed bytes with the writer schema named by the id.

    With ``reader`` (an older or newer version of the same record), Avro schema resolution
    applies: fields the writer lacks get the reader's defaults, fields the reader lacks are skipped.
    Timestamps come back as timezone-aware UTC datetimes.
    """
    writer = schemas.get(schema_id(data))
    try:
        return cast(dict[str, Any], fastavro.schemaless_reader(io.BytesIO(data[5:]), writer.parsed,
                                                               reader.parsed if reader else None))
    except Exception as exc:  # truncated bytes, bad unions, unresolvable reader: one clear error
        target = f" as {reader.subject} v{reader.version}" if reader else ""
        raise SchemaError(f"cannot decode a record written with schema id {writer.id} ({writer.subject} "
                          f"v{writer.version}){target}: {type(exc).__name__}: {exc}") from exc
