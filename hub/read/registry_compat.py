"""Confluent's compatibility test, ``POST /compatibility/subjects/{subject}/versions[/{version}]``, by the hub's rules.

What the Maven plugin's ``test-compatibility`` goal, confluent-kafka's ``test_compatibility()`` and
python-schema-registry-client ask before proposing a schema: would the subject accept it? The hub answers with
the level ``hub schemas check`` enforces in CI (hub.contract.registry.COMPATIBILITY) and its checker
(hub.contract.registry.incompatibilities, Apache avro's rules, one plain-words line per broken field), so a schema that
passes here passes there. As in Confluent: against one version (``latest`` on a subject that has none yet: no
version to break, compatible), or against the subject's versions (all of them for a ``*_TRANSITIVE`` level, else
the latest); ``verbose=true`` adds the messages and turns an invalid schema into a verdict rather than a 42201.
"""

from __future__ import annotations

import asyncio
from typing import Any

import avro.schema
from fastapi import APIRouter, Request
from pydantic import BaseModel

from hub.contract import codec, registry
from hub.errors import SchemaError
from hub.read.registry_core import (
    POSTED,
    SCHEMA_BODY,
    WORKER,
    RegistryJSON,
    Version,
    answers,
    error,
    flag,
    parse_posted,
    parsed,
    pick,
    posted_text,
    read_posted,
    subject_not_found,
    versions,
)

router = APIRouter(tags=["registry"], default_response_class=RegistryJSON)


class CompatibilityCheck(BaseModel):
    """Confluent's verdict; ``messages`` only with ``verbose=true``."""

    is_compatible: bool
    messages: list[str] | None = None


def level(subject: str | None) -> str:
    """The compatibility level of a subject (``None``: the global one): what ``hub schemas check`` enforces."""
    return registry.COMPATIBILITY


def _problems(candidate: avro.schema.Schema, against: list[codec.SchemaVersion], rule: str) -> list[str]:
    """Why ``candidate`` breaks ``rule`` (a Confluent level) against each version: one line per broken field."""
    backward, forward = rule.startswith(("BACKWARD", "FULL")), rule.startswith(("FORWARD", "FULL"))
    out: list[str] = []
    for sv in against:
        old = parsed(sv.text)
        if backward:  # new readers must read what every old writer wrote
            out += [f"the new schema cannot read version {sv.version} (id {sv.id}): {inc.describe()}"
                    for inc in registry.incompatibilities(candidate, old)]
        if forward:  # old readers must read what the new writer writes
            out += [f"version {sv.version} (id {sv.id}) cannot read the new schema: {inc.describe(forward=True)}"
                    for inc in registry.incompatibilities(old, candidate)]
    return out


def verdict(raw: bytes, found: list[codec.SchemaVersion] | None, subject: str, version: str | None,
            verbose: bool, rule: str) -> dict[str, Any] | RegistryJSON:
    """The compatibility answer for a posted body; run on the registry thread (parsing is bounded there)."""
    text = posted_text(raw)
    if isinstance(text, RegistryJSON):
        return text
    against: list[codec.SchemaVersion]
    if version is None:
        against = [] if found is None else found if rule.endswith("_TRANSITIVE") else found[-1:]
    elif found is None and version not in ("latest", "-1"):
        refused = pick([], version)  # 42202 for an invalid version string, else the subject is unknown
        return refused if isinstance(refused, RegistryJSON) and refused.status_code == 422 \
            else subject_not_found(subject)
    elif found is None:
        against = []  # a new subject: nothing registered to break
    else:
        sv = pick(found, version)
        if isinstance(sv, RegistryJSON):
            return sv
        against = [sv]
    try:
        candidate = parse_posted(text)
    except SchemaError as exc:
        if not verbose:
            return error(422, 42201, f"Invalid schema: {str(exc)[:300]}")
        return {"is_compatible": False, "messages": [f"Invalid schema: {str(exc)[:300]}"]}
    problems = [] if rule == "NONE" else _problems(candidate, against, rule)
    answer: dict[str, Any] = {"is_compatible": not problems}
    if verbose:
        answer["messages"] = problems + ([f"{{compatibility: '{rule}'}}"] if problems else [])
    return answer


async def _check(request: Request, subject: str, version: str | None) -> Any:
    raw = await read_posted(request)
    if isinstance(raw, RegistryJSON):
        return raw
    answer = await asyncio.get_running_loop().run_in_executor(
        WORKER, verdict, raw, versions(request, subject), subject, version, flag(request, "verbose"), level(subject))
    return answer if isinstance(answer, RegistryJSON) else CompatibilityCheck(**answer)


@router.post("/compatibility/subjects/{subject}/versions/{version}", response_model=CompatibilityCheck,
             response_model_exclude_none=True, openapi_extra=SCHEMA_BODY,
             responses=answers(CompatibilityCheck, *POSTED, 404))
async def test_version(subject: str, version: Version, request: Request) -> Any:
    """Is the posted schema compatible with this version (a number, ``latest`` or ``-1``) of the subject?"""
    return await _check(request, subject, version)


@router.post("/compatibility/subjects/{subject}/versions", response_model=CompatibilityCheck,
             response_model_exclude_none=True, openapi_extra=SCHEMA_BODY,
             responses=answers(CompatibilityCheck, *POSTED))
async def test_subject(subject: str, request: Request) -> Any:
    """Is the posted schema compatible with the subject's versions, as its level asks?"""
    return await _check(request, subject, None)
