"""Avro in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary.

Schema ids come from the committed lock file ``schemas/registry.json``, so the same schema has
the same id on every machine and after every redeploy.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastavro

from hub.errors import SchemaError

MAGIC = 0
_HEADER = struct.Struct(">bI")


@dataclass(frozen=True)
class SchemaVersion:
    subject: str
    version: int
    id: int
    file: str
    text: str  # canonical JSON text served by the registry API
    parsed: Any  # fastavro parsed schema


class Schemas:
    """The schema lock: subjects, versions and ids read from a schemas folder."""

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        lock_path = folder / "registry.json"
        try:
            lock = json.loads(lock_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SchemaError(f"cannot read schema lock {lock_path}: {exc}") from exc
        self.folder = folder
        self.by_id: dict[int, SchemaVersion] = {}
        self.subjects: dict[str, list[SchemaVersion]] = {}
        for subject, versions in lock["subjects"].items():
            for v in sorted(versions, key=lambda v: v["version"]):
                raw = json.loads((folder / v["file"]).read_text(encoding="utf-8"))
                if v["id"] in self.by_id:
                    raise SchemaError(f"schema id {v['id']} is used twice in {lock_path}")
                sv = SchemaVersion(subject, v["version"], v["id"], v["file"],
                                   json.dumps(raw, ensure_ascii=False, separators=(",", ":")),
                                   fastavro.parse_schema(raw, named_schemas={}, _write_hint=False))
                self.by_id[sv.id] = sv
                self.subjects.setdefault(subject, []).append(sv)

    def latest(self, subject: str) -> SchemaVersion:
        try:
            return self.subjects[subject][-1]
        except KeyError:
            raise SchemaError(f"unknown subject {subject!r}") from None

    def version(self, subject: str, version: int) -> SchemaVersion:
        for sv in self.subjects.get(subject, []):
            if sv.version == version:
                return sv
        raise SchemaError(f"subject {subject!r} has no version {version}")

    def get(self, schema_id: int) -> SchemaVersion:
        try:
            return self.by_id[schema_id]
        except KeyError:
            raise SchemaError(f"unknown schema id {schema_id}") from None


@cache
def load(folder: str) -> Schemas:
    return Schemas(folder)


def encode(sv: SchemaVersion, record: dict[str, Any]) -> bytes:
    """Confluent-framed Avro bytes of ``record`` under schema version ``sv``."""
    buf = io.BytesIO()
    buf.write(_HEADER.pack(MAGIC, sv.id))
    fastavro.schemaless_writer(buf, sv.parsed, record, strict_allow_default=True)
    return buf.getvalue()


def schema_id(data: bytes) -> int:
    if len(data) < 5 or data[0] != MAGIC:
        raise SchemaError("not Confluent wire format (magic byte 0 + 4-byte schema id expected)")
    return _HEADER.unpack_from(data)[1]


def decode(schemas: Schemas, data: bytes, reader: SchemaVersion | None = None) -> dict[str, Any]:
    """Decode framed bytes with the writer schema named by the id (and an optional reader schema)."""
    writer = schemas.get(schema_id(data))
    return fastavro.schemaless_reader(io.BytesIO(data[5:]), writer.parsed,
                                      reader.parsed if reader else None)
