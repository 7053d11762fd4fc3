"""Schema evolution rules: the lock's feed subjects must stay FULL_TRANSITIVE compatible.

Subscribers decode the feeds for years with whatever schema version they compiled against, and
the hub's own readers (read model, replays) read years of old data with the latest version. So
every new version must both read data written with every earlier version (backward) and be
readable by every earlier version (forward): a new enum symbol that an old reader has no default
for, or a removed field that an old reader has no default for, breaks every subscriber built on
that old version, and fails here. The verdict comes from the official ``avro`` package's
:mod:`avro.compatibility`, asked in both directions; this module adds the house rules
(namespace, docs, ids, contiguous versions) and turns findings into one plain-words line each.
Pure file reading: no Kafka.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import avro.errors
import avro.schema
import fastavro
from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
    lookup_writer_field,
    schema_name_equals,
)

from hub.contract import codec
from hub.errors import SchemaError

NAMESPACE = "vn.gov.hub"
# What ``hub schemas check`` enforces and ``GET /registry/config`` answers (every subject of the lock is a
# feed subject, ``<feed topic>-value``): each version reads, and is read by, every other version.
COMPATIBILITY = "FULL_TRANSITIVE"


@dataclass(frozen=True)
class Incompatibility:
    """One reason a reader schema cannot read a writer schema."""

    kind: str  # avro.compatibility's incompatibility type, upper case (TYPE_MISMATCH, ...)
    field: str | None  # top-level field name, when the problem sits in one
    location: str  # JSON-pointer-like path in the reader schema, as avro reports it
    detail: str

    def describe(self, forward: bool = False) -> str:
        """Plain words; ``forward``: the reader is the OLDER version (a subscriber's), the writer the newer."""
        where = f"({self.kind} at {self.location})"
        if self.kind == "READER_FIELD_MISSING_DEFAULT_VALUE":
            if forward:
                return (f"field '{self.field}' is no longer written and the older version gives it no default, "
                        f"so its readers fail {where}")
            return f"field '{self.field}' has no default {where}"
        plain = ((forward and _PLAIN_FORWARD.get(self.kind)) or _PLAIN.get(self.kind, "{}")).format(self.detail)
        if self.field is None:
            return f"{plain} {where}"
        return f"field '{self.field}': {plain} {where}"


# Plain-words framing of avro's terse messages, per incompatibility kind.
_PLAIN = {
    "TYPE_MISMATCH": "type changed ({})",
    "MISSING_UNION_BRANCH": "the reader's union lacks a type the writer may use ({})",
    "MISSING_ENUM_SYMBOLS": "enum symbols removed without an enum default: {}",
    "FIXED_SIZE_MISMATCH": "fixed size changed ({})",
    "NAME_MISMATCH": "named type renamed without an alias ({})",
}
# The same kinds seen from an older reader of newer data: what the newer version added, not removed.
_PLAIN_FORWARD = {
    "MISSING_ENUM_SYMBOLS": "enum symbols added that the older version does not know, and it has no enum "
                            "default to read them as: {}",
    "MISSING_UNION_BRANCH": "the newer version may write a type the older union lacks ({})",
}


def parse(text: str) -> avro.schema.Schema:
    """Parse with the official avro package (the compatibility checker needs its objects)."""
    try:
        return avro.schema.parse(text)
    except (avro.errors.AvroException, ValueError) as exc:
        raise SchemaError(f"not a valid Avro schema: {exc}") from exc


def _result_items(result: Any, field: str | None) -> list[Incompatibility]:
    kinds = sorted({k.name.upper() for k in result.incompatibilities}) or ["INCOMPATIBLE"]
    return [Incompatibility("/".join(kinds), field, ", ".join(sorted(result.locations)),
                            "; ".join(sorted(result.messages)))]


def incompatibilities(reader: avro.schema.Schema, writer: avro.schema.Schema) -> list[Incompatibility]:
    """Why ``reader`` cannot read data written with ``writer`` (empty list: it can).

    avro's merged result keeps messages and locations as unordered sets, so with several
    problems they cannot be paired; for records we therefore re-check field by field (with
    the same library calls and locations) to name each broken field.
    """
    overall = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if overall.compatibility is not SchemaCompatibilityType.incompatible:
        return []
    if reader.type != "record" or writer.type != "record":
        return _result_items(overall, None)
    assert isinstance(reader, avro.schema.RecordSchema) and isinstance(writer, avro.schema.RecordSchema)
    found: list[Incompatibility] = []
    if not schema_name_equals(reader, writer):
        found.append(Incompatibility("NAME_MISMATCH", None, "/name", f"record name changed: expected "
                                     f"{writer.fullname}, found {reader.fullname}"))
    for i, rfield in enumerate(reader.fields):
        wfield = lookup_writer_field(writer_schema=writer, reader_field=rfield)
        if wfield is None:
            # avro lets an enum-typed field with an enum default stand in for a field default
            enum_default = rfield.type.type == "enum" and rfield.type.props.get("default")
            if not rfield.has_default and not enum_default:
                missing = Incompatibility("READER_FIELD_MISSING_DEFAULT_VALUE", rfield.name, f"/fields/{i}",
                                          "the writer lacks it, the reader has no default")
                found.append(missing)
            continue
        result = ReaderWriterCompatibilityChecker().get_compatibility(rfield.type, wfield.type, "type",
                                                                      ["/", "fields", str(i)])
        if result.compatibility is SchemaCompatibilityType.incompatible:
            found.extend(_result_items(result, rfield.name))
    return found or _result_items(overall, None)


def same_schema(a: str, b: str) -> bool:
    """Whether two schema texts are the same schema once parsed (whitespace, key order and
    namespace spelling aside; docs and defaults count)."""
    return parse(a).to_json() == parse(b).to_json()


def _undocumented(schema: Any, path: str) -> list[str]:
    """Fields (also of nested records) without a non-empty ``doc``."""
    out: list[str] = []
    if isinstance(schema, list):
        for branch in schema:
            out += _undocumented(branch, path)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "record":
            for f in schema.get("fields", []):
                name = f"{path}{f.get('name')}"
                if not str(f.get("doc") or "").strip():
                    out.append(name)
                out += _undocumented(f.get("type"), name + ".")
        elif kind == "array":
            out += _undocumented(schema.get("items"), path)
        elif kind == "map":
            out += _undocumented(schema.get("values"), path)
        elif isinstance(kind, dict | list):
            out += _undocumented(kind, path)
    return out


def _named_types(schema: avro.schema.Schema, seen: dict[str, avro.schema.Schema]) -> None:
    if isinstance(schema, avro.schema.NamedSchema):
        if schema.fullname in seen:
            return
        seen[schema.fullname] = schema
    if isinstance(schema, avro.schema.RecordSchema):
        for f in schema.fields:
            _named_types(f.type, seen)
    elif isinstance(schema, avro.schema.UnionSchema):
        for s in schema.schemas:
            _named_types(s, seen)
    elif isinstance(schema, avro.schema.ArraySchema):
        _named_types(schema.items, seen)
    elif isinstance(schema, avro.schema.MapSchema):
        _named_types(schema.values, seen)


def _house_rules(subject: str, version: int, raw: Any, parsed: avro.schema.Schema) -> list[str]:
    at = f"{subject}: version {version}"
    problems = []
    if not isinstance(raw, dict) or raw.get("type") != "record":
        return [f"{at}: the top-level schema must be a record"]
    assert isinstance(parsed, avro.schema.RecordSchema)  # parsed from raw, a record
    if not str(raw.get("doc") or "").strip():
        problems.append(f"{at}: record {parsed.fullname} has no doc")
    named: dict[str, avro.schema.Schema] = {}
    _named_types(parsed, named)
    for fullname in sorted(named):
        if fullname.rpartition(".")[0] != NAMESPACE:
            problems.append(f"{at}: type {fullname} is not in namespace {NAMESPACE}")
    for name in _undocumented(raw, ""):
        problems.append(f"{at}: field '{name}' has no doc")
    return problems


def check(folder: str | Path) -> tuple[list[str], dict[str, int]]:
    """All problems of a schemas folder, one plain-words line each, and counts for a summary."""
    folder = Path(folder)
    try:
        lock = codec.read_lock(folder)
    except SchemaError as exc:
        return [str(exc)], {}
    problems: list[str] = []
    ids: dict[int, str] = {}
    listed: set[str] = set()
    counts = {"subjects": len(lock), "versions": 0, "pairs": 0}
    for subject, entries in lock.items():
        numbers = sorted(e["version"] for e in entries)
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"{subject}: versions must be 1..{len(numbers)} without gaps or repeats, "
                            f"found {numbers}")
        parsed_versions: list[tuple[int, avro.schema.Schema]] = []
        for e in sorted(entries, key=lambda e: e["version"]):
            at = f"{subject}: version {e['version']}"
            if e["id"] in ids:
                problems.append(f"{at}: schema id {e['id']} is already used by {ids[e['id']]}")
            ids[e["id"]] = f"{subject} version {e['version']}"
            if e["id"] < 1:
                problems.append(f"{at}: schema id {e['id']} must be a positive integer")
            listed.add(e["file"])
            try:
                raw = codec.read_schema_file(folder, e["file"])
                parsed = parse(json.dumps(raw))
                fastavro.parse_schema(raw, named_schemas={})
            except SchemaError as exc:
                problems.append(f"{at} ({e['file']}): {exc}")
                continue
            except Exception as exc:  # fastavro is stricter than avro on some defaults
                problems.append(f"{at} ({e['file']}): fastavro cannot use it: {exc}")
                continue
            counts["versions"] += 1
            problems += _house_rules(subject, e["version"], raw, parsed)
            parsed_versions.append((e["version"], parsed))
        for i, (newer, new_schema) in enumerate(parsed_versions):
            for older, old_schema in parsed_versions[:i]:
                counts["pairs"] += 1
                # backward: the newer version reads data the older one wrote (replays, the read model)
                for inc in incompatibilities(new_schema, old_schema):
                    problems.append(f"{subject}: version {newer} cannot read version {older}: "
                                    f"{inc.describe()}")
                # forward: a subscriber built on the older version reads what the newer one writes
                for inc in incompatibilities(old_schema, new_schema):
                    problems.append(f"{subject}: version {older} cannot read version {newer} (subscribers "
                                    f"built on version {older} would fail): {inc.describe(forward=True)}")
    for orphan in sorted(p.name for p in folder.glob("*.avsc") if p.name not in listed):
        problems.append(f"{orphan}: schema file is not listed in {codec.LOCK_FILE} (add it with a new id, or "
                        "remove it)")
    return problems, counts
