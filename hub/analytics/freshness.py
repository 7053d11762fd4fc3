"""Commune freshness (độ cập nhật dữ liệu): when each commune's systems last sent anything.

One state per commune, fed by every feed record (dossier, document, and later kinds):
``{"c": commune, "p": province, "s": {"<source_system>|<kind>": [last event_time, last ingest_time,
alerted_for]}}``. Silence is measured on the hub's ingest time — a system that back-fills old
events is alive, and a source clock running ahead cannot hide a silence — against a threshold
per kind (``HUB_FRESHNESS_SILENT_HOURS``). The last event time is kept for the reader too.
``alerted_for`` is the ingest time a silence alert was raised for, so that :func:`silent_transitions`
alerts once per silence and again after the system spoke and fell silent anew.
"""

from __future__ import annotations

from typing import Any

from hub.analytics import bounds
from hub.analytics.config import AnalyticsConfig

State = dict[str, Any]
MAX_SYSTEMS = 256  # (system, kind) entries per commune: a state, and its row, stay bounded


def merge(state: State | None, record: dict[str, Any], kind: str) -> State:
    """Fold one feed record of ``kind`` (dossier, document, ...) into its commune's state."""
    if state is None:
        state = {"c": record["commune_code"], "p": record.get("province_code"), "s": {}}
    name = f"{bounds.ident(record['source_system'])}|{kind}"
    cur = state["s"].get(name)
    if cur is None and len(state["s"]) >= MAX_SYSTEMS:
        return state
    event, ingest = record["event_time"], record["ingest_time"]
    if cur is not None and cur[0] >= event and cur[1] >= ingest:
        return state
    entry = [event, ingest, None] if cur is None else [max(cur[0], event), max(cur[1], ingest), cur[2]]
    return {**state, "s": {**state["s"], name: entry}}


def silent(state: State, now_ms: int, cfg: AnalyticsConfig) -> list[dict[str, Any]]:
    """One row per (source system, kind) of the commune: last times and whether it is silent."""
    out = []
    for name, (event, ingest, _) in sorted(state["s"].items()):
        system, _, kind = name.rpartition("|")
        threshold = cfg.silent_after_ms(kind)
        out.append({"commune_code": state["c"], "source_system": system, "kind": kind,
                    "last_event_time": event, "last_ingest_time": ingest, "silent_after_ms": threshold,
                    "silent_for_ms": max(0, now_ms - ingest), "silent": now_ms - ingest > threshold})
    return out


def row(state: State, now_ms: int, cfg: AnalyticsConfig) -> dict[str, Any]:
    """The commune's freshness: its systems, and the commune is silent when every one of them is."""
    # The names as bounded as the row must be, whatever an old state holds (hub.analytics.bounds).
    systems = [{**s, "source_system": bounds.ident(s["source_system"])} for s in silent(state, now_ms, cfg)]
    return {"commune_code": state["c"], "province_code": state["p"],
            "last_event_time": max((s["last_event_time"] for s in systems), default=None),
            "last_ingest_time": max((s["last_ingest_time"] for s in systems), default=None),
            "silent": bool(systems) and all(s["silent"] for s in systems), "systems": systems,
            "computed_at": now_ms}


def silent_transitions(state: State, now_ms: int, cfg: AnalyticsConfig) -> tuple[State, list[dict[str, Any]]]:
    """Systems that went silent and were not alerted yet for this silence, and the state remembering it."""
    alerts = [s for s in silent(state, now_ms, cfg)
              if s["silent"] and state["s"][f"{s['source_system']}|{s['kind']}"][2] != s["last_ingest_time"]]
    if not alerts:
        return state, []
    systems = dict(state["s"])
    for a in alerts:
        name = f"{a['source_system']}|{a['kind']}"
        systems[name] = [*systems[name][:2], a["last_ingest_time"]]
    return {**state, "s": systems}, alerts


def next_silence(state: State, cfg: AnalyticsConfig) -> int | None:
    """The earliest instant at which a system not yet alerted becomes silent (for a timer)."""
    pending = [ingest + cfg.silent_after_ms(name.rpartition("|")[2]) + 1
               for name, (_, ingest, alerted) in state["s"].items() if alerted != ingest]
    return min(pending) if pending else None


def to_avro(r: dict[str, Any]) -> dict[str, Any]:
    """A CommuneFreshness v1 record (feed.freshness.v1, keyed by commune) from a :func:`row`."""
    return {**{k: r[k] for k in ("commune_code", "province_code", "last_event_time", "last_ingest_time",
                                 "silent", "computed_at")},
            "systems": [{k: s[k] for k in ("source_system", "kind", "last_event_time", "last_ingest_time",
                                           "silent_after_ms", "silent")} for s in r["systems"]]}
