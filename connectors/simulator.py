"""The province simulator: realistic commune traffic through the real ingest paths.

It onboards its systems in the registry (once; re-running changes nothing unless the commune
set changed or gateway keys are needed), then publishes events at a steady rate through the
durable outbox (SDK path) and, with a gateway URL, a share of them through the HTTP gateway
with the keys it received. Bad data always takes the SDK path: the gateway would refuse it with
a 4xx before Kafka, and the point of bad data here is to exercise the dead-letter topic.

Systems (see :mod:`connectors.scenarios` for the OrganId scheme):

* ``sim-onestop-<commune>``: dossiers of one commune;
* ``sim-docs-<commune>``: documents and target progress reports of one commune, OrganId
  ``000.<2>.<3>.H41``;
* ``sim-province``: the province People's Committee (``000.00.00.H41``), documents and target
  assignments, scoped to every simulated commune (a multi-commune registration maps its OrganId to
  the province).

The first events of a run are interleaved with the year's targets (:mod:`connectors.target_scenarios`:
assignments, then monthly reports — on track, behind, stopped, one silent commune), so that the
progress feed fills within a few minutes of ``make run``.

At the end :meth:`Simulator.run` returns a summary of what was accepted, with the feed and
dead-letter record counts a correct pipeline must produce from it.

Every event starts its own trace (``sim_sent`` logs its ``trace_id``, path and source event id;
the gateway receives it as ``X-Trace-Id``). Source event ids are the events' natural keys
(:mod:`connectors.source_ids`) qualified by the run id, so a re-run is not deduplicated away;
bad events carry ``-bad-<type>`` at the end of theirs.
"""

from __future__ import annotations

import os
import random
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from connectors import publisher as sdk
from connectors import scenarios, source_ids
from hub import log, reference
from hub.contract import topics
from hub.errors import ConfigError
from hub.kafka import config as kafka_config
from hub.settings import Settings


@dataclass
class SimConfig:
    province: str = "52"
    communes: int = 5
    rate: float = 50.0  # events per second
    duration_s: float = 10.0
    bad_ratio: float = 0.02
    seed: int | None = None
    gateway: str | None = None  # base URL, e.g. http://127.0.0.1:8080
    gateway_share: float = 0.3  # share of eligible events sent through the gateway
    outbox_path: str | None = None
    flush_timeout_s: float = 120.0
    progress_interval_s: float = 5.0


SystemSpec = tuple[str, list[str], list[str], list[str]]


def wanted_systems(province: str, communes: list[reference.Commune]) -> list[SystemSpec]:
    """(system id, communes, kinds, organ ids) of every simulated system."""
    out: list[SystemSpec] = []
    for c in communes:
        out.append((f"sim-onestop-{c.code}", [c.code], ["dossier"], []))
        organ = scenarios.commune_organ(c.code, province)
        out.append((f"sim-docs-{c.code}", [c.code], ["document", "target"], [organ]))
    scope = [c.code for c in communes]
    if len(scope) == 1:
        # A single-commune registration would map the province's OrganId to that commune.
        scope.append(next(c.code for c in reference.province_communes(province) if c.code != scope[0]))
    out.append(("sim-province", scope, ["document", "target"], [scenarios.province_organ(province)]))
    return out


class Simulator:
    def __init__(self, settings: Settings, cfg: SimConfig):
        if cfg.province != settings.province:
            raise ConfigError(f"HUB_PROVINCE is {settings.province}; the hub would reject every commune of "
                              f"province {cfg.province} (set HUB_PROVINCE={cfg.province})")
        available = sorted(reference.province_communes(cfg.province), key=lambda c: c.code)
        if not available:
            raise ConfigError(f"province {cfg.province} is not in the reference list")
        if not 1 <= cfg.communes <= len(available):
            raise ConfigError(f"--communes must be 1..{len(available)} for province {cfg.province}")
        if cfg.rate <= 0 or cfg.duration_s <= 0 or not 0 <= cfg.bad_ratio <= 1:
            raise ConfigError("--rate and --duration must be positive and --bad-ratio within 0..1")
        self.settings = settings
        self.cfg = cfg
        self.seed = cfg.seed if cfg.seed is not None else random.SystemRandom().randrange(2**31)
        self.communes = available[: cfg.communes]
        self.keys: dict[str, str] = {}
        self.run_id = os.urandom(4).hex()  # event ids differ per run, so a re-run is not deduplicated away
        self._log = log.get().bind(run_id=self.run_id)

    # --- onboarding ----------------------------------------------------------------------------
    def register(self, current=None) -> dict[str, str]:
        """Register the simulated systems; returns the keys of those (re-)added (gateway use)."""
        from hub import systems

        snapshot = current or systems.read(self.settings)
        added = 0
        for system_id, communes, kinds, organs in wanted_systems(self.cfg.province, self.communes):
            cur = snapshot.get(system_id)
            same = (cur is not None and cur.active and cur.communes == frozenset(communes)
                    and cur.kinds == frozenset(kinds) and cur.organ_ids == frozenset(organs))
            # Secure mode: every system's SDK records are signed with its key (hub.contract.signatures).
            needs_key = (self.cfg.gateway is not None and system_id != "sim-province") or kafka_config.secure(
                self.settings)
            if same and not needs_key:
                continue
            self.keys[system_id] = systems.add(self.settings, system_id, communes, kinds, organs, current=snapshot)
            added += 1
        self._log.info("sim_registered", systems=len(self.communes) * 2 + 1, added=added)
        return self.keys

    # --- sending -------------------------------------------------------------------------------
    def _post(self, ev: scenarios.Event, event_id: str, trace_id: str, deadline: float) -> int:
        """POST one event to the gateway; returns the HTTP status (0: gateway unreachable)."""
        assert self.cfg.gateway is not None  # the only caller sends here only with a gateway URL
        url = f"{self.cfg.gateway.rstrip('/')}/v1/events/{ev.kind}"
        ctype = "application/xml" if ev.format in ("edxml", "edoc-go") else "application/json"
        hdrs = {"Authorization": f"Bearer {self.keys[ev.system]}", "Content-Type": ctype,
                "X-Hub-Format": ev.format, "X-Hub-Event-Id": event_id, "X-Trace-Id": trace_id}
        if ev.commune:
            hdrs["X-Hub-Commune"] = ev.commune
        delay = 0.2
        while True:
            req = urllib.request.Request(url, data=ev.payload, headers=hdrs, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (urllib.error.URLError, OSError):
                return 0
            # 401/403 right after onboarding: the gateway's registry view lags by a poll interval.
            if status not in (401, 403, 503) or time.monotonic() + delay > deadline:
                return status
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def run(self, stop=None) -> dict:
        """Publish for the configured duration (or until ``stop`` is set / Ctrl-C); returns the summary."""
        from connectors.outbox import Outbox

        cfg = self.cfg
        gen = scenarios.Province(cfg.province, self.communes, random.Random(self.seed), cfg.bad_ratio)
        route = random.Random(self.seed + 1)  # path choice apart, so --gateway does not change content
        path = cfg.outbox_path or str(Path(self.settings.outbox_path).with_name("simulator-outbox.sqlite3"))
        counts: dict[str, Counter] = {k: Counter()
                                      for k in ("kind", "format", "path", "label", "bad", "refused")}
        expected: Counter[str] = Counter()
        box = Outbox(self.settings, "sim", path=path)
        backlog = box.depth()
        started = time.monotonic()
        next_progress = started + cfg.progress_interval_s
        n = 0
        interrupted = False
        try:
            while stop is None or not stop.is_set():
                now_m = time.monotonic()
                if now_m - started >= cfg.duration_s:
                    break
                due = started + n / cfg.rate
                if due > now_m:
                    time.sleep(min(due - now_m, 0.2))
                    continue
                ev = gen.next(datetime.now(UTC))
                event_id = (f"sim-{self.run_id}-{source_ids.derive(ev.format, ev.payload)}"
                            + (f"-bad-{ev.bad}" if ev.bad else ""))
                trace_id = sdk.trace_id()
                n += 1
                via = "sdk"
                if (cfg.gateway and ev.gateway_ok and ev.system in self.keys
                        and route.random() < cfg.gateway_share):
                    status = self._post(ev, event_id, trace_id, time.monotonic() + 15)
                    if status == 202:
                        via = "gateway"
                    elif status == 0:
                        counts["refused"]["unreachable_fallback_sdk"] += 1
                    else:
                        counts["refused"][str(status)] += 1
                        self._log.warning("sim_gateway_refused", status=status, source_system=ev.system,
                                          kind=ev.kind, source_event_id=event_id, trace_id=trace_id)
                        continue
                if via == "sdk":
                    box.publish(ev.kind, ev.payload, format=ev.format, commune=ev.commune, event_id=event_id,
                                trace_id=trace_id, source_system=ev.system, system_key=self.keys.get(ev.system))
                self._log.info("sim_sent", path=via, trace_id=trace_id, source_event_id=event_id, kind=ev.kind,
                               source_system=ev.system, commune_code=ev.commune, label=ev.label)
                counts["kind"][ev.kind] += 1
                counts["format"][ev.format] += 1
                counts["path"][via] += 1
                counts["label"][ev.label] += 1
                if ev.bad:
                    counts["bad"][ev.bad] += 1
                    expected[topics.DLQ] += 1
                else:
                    expected[topics.FEED_BY_KIND[ev.kind]] += ev.feed_records
                if time.monotonic() >= next_progress:
                    next_progress += cfg.progress_interval_s
                    elapsed = time.monotonic() - started
                    self._log.info("sim_progress", sent=sum(counts["kind"].values()),
                                   elapsed_s=round(elapsed, 1), rate=round(n / max(elapsed, 1e-9), 1),
                                   outbox_depth=box.depth())
        except KeyboardInterrupt:
            interrupted = True
        finally:
            elapsed = time.monotonic() - started
            forwarded = box.flush(cfg.flush_timeout_s)
            box.close()
        sent = sum(counts["kind"].values())
        bad = sum(counts["bad"].values())
        summary = {
            "run_id": self.run_id, "seed": self.seed, "province": cfg.province,
            "communes": len(self.communes),
            "rate": cfg.rate, "duration_s": cfg.duration_s, "elapsed_s": round(elapsed, 3),
            "interrupted": interrupted, "sent": sent, "good": sent - bad, "bad": bad,
            "by_kind": dict(counts["kind"]), "by_format": dict(counts["format"]),
            "by_path": dict(counts["path"]),
            "by_label": dict(counts["label"]), "bad_by_type": dict(counts["bad"]),
            "gateway_refused": dict(counts["refused"]),
            "expected": {t: expected[t] for t in (topics.FEED_DOSSIER, topics.FEED_DOCUMENT, topics.FEED_TARGET,
                                                  topics.DLQ)},
            "outbox_backlog_at_start": backlog, "forwarded": forwarded,
        }
        self._log.info("sim_done", sent=sent, bad=bad, forwarded=forwarded, elapsed_s=round(elapsed, 3))
        return summary
