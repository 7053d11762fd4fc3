"""One typed settings object, read from ``HUB_*`` environment variables.

Every knob of the hub lives here; the README's configuration table is generated from
:data:`Settings` field metadata (``hub settings`` prints it), so the two cannot drift.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hub import settings_rules
from hub.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
# The schemas ship inside the package (hub/schemas, package data), so an installed wheel finds them;
# a normal install unpacks them into a real folder.
PACKAGED_SCHEMAS = str(resources.files("hub") / "schemas")


def _setting(default: Any, doc: str, *, secret: bool = False, shown: str | None = None,
             under_data_dir: str = "") -> Any:
    """``shown``: the default as the docs print it; ``under_data_dir``: a writable path whose default is
    that name inside HUB_DATA_DIR, filled in by :meth:`Settings.from_env`."""
    meta = {"doc": doc, "secret": secret, "shown": shown, "under_data_dir": under_data_dir}
    return field(default=default, metadata=meta, repr=not secret)


@dataclass(frozen=True)
class Settings:
    """Hub configuration. Build with :meth:`from_env`; values are immutable."""

    kafka_bootstrap: str = _setting("127.0.0.1:9092", "Kafka bootstrap servers, comma separated.")
    # Kafka connection security (hub/kafka/config.py turns these into every client's configuration)
    kafka_security: str = _setting("plaintext", "plaintext (development: no authentication) or scram: "
                                   "SASL/SCRAM-SHA-512 as HUB_KAFKA_USERNAME; the broker's ACLs decide what "
                                   "this process may do, and the worker requires signed ingest records.")
    kafka_username: str = _setting("", "SCRAM user (Kafka principal) of this process, e.g. hub-worker, "
                                   "hub-gateway, pub.<system id>, sub.<name>, or the operator.")
    kafka_password: str = _setting("", "SCRAM password of HUB_KAFKA_USERNAME.", secret=True)
    kafka_tls: bool = _setting(False, "Encrypt the Kafka connection with TLS (SASL_SSL with scram); the "
                               "broker's certificate and host name are always verified.")
    kafka_tls_ca_file: str = _setting("", "PEM file of the CA (or self-signed certificate) the broker's "
                                      "certificate must chain to; empty: the system's trust store.")
    system_key: str = _setting("", "Connector SDK: this publishing system's key (hubk_..., printed by `hub "
                               "systems add`); every ingest record is signed with it (required by workers "
                               "when HUB_KAFKA_SECURITY=scram).", secret=True)
    signature_accept_v1: bool = _setting(True, "Workers still verify v1 ingest signatures (which do not bind "
                                         "hub.trace_id); set false once ingest topics hold no record older "
                                         "than the v2 SDK and gateway (HUB_RAW_RETENTION_HOURS).")
    topic_prefix: str = _setting("", "Prefix for every topic and consumer group (tenants, tests).")
    partitions: int = _setting(6, "Partitions of ingest, feed and DLQ topics (keys per topic: README, Topics).")
    replication_factor: int = _setting(1, "Replication factor of created topics (3 in production).")
    min_insync_replicas: int = _setting(1, "min.insync.replicas of created topics (2 in production).")
    raw_retention_hours: int = _setting(168, "Retention of raw ingest and DLQ topics (they hold personal data).")
    feed_retention_days: int = _setting(30, "Retention of the unified feeds (the targets feed keeps two plan years).")
    province: str = _setting("52", "Province code this deployment serves (Gia Lai is 52).")
    organs: str = _setting("", "Extra organization directory entries: OrganId=code, comma separated.")
    dev_mode: bool = _setting(False, "Development mode: allows a built-in pseudonym key. Never in production.")
    # personal data: pseudonym keys per purpose (applicant, handler) and document subjects
    pseudonym_key: str = _setting("", "Master secret for pseudonyms: the applicant and handler keys are derived "
                                  "from it (HKDF-SHA256). Required unless dev mode.", secret=True)
    applicant_pseudonym_key: str = _setting("", "Explicit key for applicant pseudonyms (replaces the derived one).",
                                            secret=True)
    applicant_pseudonym_key_id: str = _setting("", "Key id written with applicant pseudonyms; default: a "
                                               "fingerprint of the key (k + 8 hex).")
    handler_pseudonym_key: str = _setting("", "Explicit key for handler pseudonyms (replaces the derived one).",
                                          secret=True)
    handler_pseudonym_key_id: str = _setting("", "Key id written with handler pseudonyms; default: a fingerprint "
                                             "of the key (k + 8 hex).")
    citizen_document_subjects: bool = _setting(False, "Carry the (scrubbed) subject of documents that may name "
                                               "citizens (petitions, non-organ senders); off by default.")
    dedupe_window_hours: int = _setting(168, "How long hub event ids are remembered to drop publishers' re-sends.")
    max_payload_bytes: int = _setting(1_048_576, "Largest raw event accepted, in bytes.")
    # normalization bounds
    max_record_ms: int = _setting(10_000, "Time budget to normalize one raw event; beyond it the event is "
                                  "dead-lettered as too_expensive (0: no budget).")
    max_future_skew: str = _setting("10m", "How far an event's own time (event, status, reception time; not due "
                                    "dates) may be ahead of the hub's receipt (<n>s, <n>m or <n>h): beyond it "
                                    "the event is refused as event_in_future (clocks a little fast pass).")
    log_level: str = _setting("INFO", "Log level of the JSON log lines.")
    log_rejected_burst: int = _setting(20, "event_rejected lines written per (verified writer, reason) and window; "
                                       "further ones are counted (event_rejected_suppressed line, metric).")
    log_rejected_window_s: int = _setting(60, "Window of HUB_LOG_REJECTED_BURST, in seconds.")
    # worker: batched, transactional stream engines (hub.engine) inside a faust application
    worker_store: str = _setting("rocksdb://", "Processor state: rocksdb:// (on disk, memory stays flat) or memory://.")
    data_dir: str = _setting("var", "Folder under which every writable default lives (the worker's state, the "
                             "outbox); a relative path is taken from the current directory when the settings "
                             "are read, never from where the hub is installed.")
    worker_data_dir: str = _setting("", "Directory for the worker's local state stores.",
                                    shown="$HUB_DATA_DIR/worker", under_data_dir="worker")
    worker_id: str = _setting("", "Stable id of this worker (transactional ids); empty: random per start. A stable "
                                  "id lets a restarted worker fence its predecessor at once.")
    worker_processors: str = _setting("normalize,kpi,directives,freshness,targets",
                                      "Processors this worker runs, comma separated.")
    worker_session_timeout_s: int = _setting(30, "Consumer session timeout: how soon a dead worker's partitions move.")
    # 1,000 rather than 5,000: the same throughput, a fifth of the records (and their mapped dicts) alive
    # at once, so a backfill's resident memory stays flat (docs/benchmarks.md, "Memory").
    worker_batch_max: int = _setting(1000, "Most records consumed at once; they commit in transactions sized "
                                     "to end well inside the transaction timeout.")
    worker_batch_wait_ms: int = _setting(20, "Longest wait for a batch to fill before it is processed.")
    worker_transaction_timeout_ms: int = _setting(10_000, "Kafka transaction timeout: a killed worker's open "
                                                  "transaction is aborted by the broker after this.")
    worker_linger_ms: int = _setting(5, "Producer linger: how long records wait to share a produce request.")
    worker_compression: str = _setting("lz4", "Compression of the worker's output records: none, lz4 or gzip "
                                       "(not zstd or snappy: the hub's kafka-python readers cannot read them).")
    # Read by hub/_native.py when `hub` is imported (before any setting is): listed here for the docs.
    pure_python: bool = _setting(False, "Run the normalize hot path from its .py sources even where `make setup` "
                                 "compiled it (mypyc): for comparing the two or ruling the compiled code out.")
    worker_stats_interval_s: int = _setting(30, "Seconds between two worker_stats log lines.")
    worker_stall_s: int = _setting(0, "Seconds a processor may stay inside one step of its loop before the worker "
                                   "logs worker_stalled and exits 1 for its supervisor to restart it; 0: "
                                   "max(120, 60 + 6 x the transaction timeout).")
    worker_shutdown_s: int = _setting(30, "Seconds the worker may take to stop after SIGTERM or SIGINT; past them "
                                      "it logs worker_shutdown_forced (with the processors still running and "
                                      "where) and exits 1, even if a thread is stuck in a Kafka client call.")
    # poison isolation and stuck partitions (hub/engine/poison.py; docs/operations.md, "partition_stuck")
    worker_poison_attempts: int = _setting(3, "Times one record, alone in its transaction, may fail for a reason "
                                           "of its own (too large, invalid, a processor exception) before it is "
                                           "dead-lettered (unwritable or internal_error) and its partition moves on.")
    partition_stuck_s: int = _setting(300, "Seconds a partition with records waiting may go without its committed "
                                      "offset moving before it is stuck: a partition_stuck log line, the "
                                      "hub_worker_partition_stuck gauge, worker /readyz 503 and `hub status` exit 1.")
    dlq_max_value_bytes: int = _setting(262_144, "Largest original value a dead letter keeps; a larger one is cut "
                                        "to this, with its size and SHA-256 in headers (hub.error.truncated), and "
                                        "cannot be replayed.")
    worker_metrics_host: str = _setting("127.0.0.1", "Address of the worker's /metrics, /healthz and /readyz.")
    worker_metrics_port: int = _setting(8081, "Port of the worker's /metrics, /healthz and /readyz; 0 turns them off.")
    gateway_host: str = _setting("127.0.0.1", "Address the HTTP gateway listens on.")
    gateway_port: int = _setting(8080, "Port the HTTP gateway listens on.")
    gateway_max_batch: int = _setting(1000, "Most events in one JSON array posted to the gateway.")
    # gateway: bounds and fast degradation (one request must not hurt the others)
    gateway_max_body_bytes: int = _setting(4 * 1024 * 1024, "Largest HTTP request body, any route (413 as soon "
                                           "as it is crossed, chunked bodies included).")
    gateway_delivery_timeout_ms: int = _setting(5000, "Longest wait for Kafka to acknowledge a request's "
                                                "writes; then 503 with Retry-After.")
    gateway_header_timeout_ms: int = _setting(10_000, "Longest time a client may take to send a request's "
                                              "headers; then 408.")
    gateway_body_timeout_ms: int = _setting(15_000, "Longest time a client may take to send a request's body; "
                                            "then 408.")
    gateway_max_in_flight: int = _setting(64, "Most requests handled at once by one gateway; more get 503 "
                                          "with Retry-After instead of queueing.")
    gateway_registry_max_body_bytes: int = _setting(256 * 1024, "Largest body of a /registry POST (schema "
                                                    "lookup, register or compatibility test); 413 as soon as "
                                                    "it is crossed. The hub's own schemas are under 32 KiB.")
    # operator listener: /metrics and /docs off the public address (hub/gateway/ops_listener.py)
    gateway_ops_host: str = _setting("127.0.0.1", "Address of the operator listener (with HUB_GATEWAY_OPS_PORT).")
    gateway_ops_port: int = _setting(0, "Port of the operator listener: when set, /metrics and /docs are served "
                                     "only there (404 on the public port); 0: on the public listener, as "
                                     "before. Set it whenever HUB_GATEWAY_HOST is not a loopback address.")
    gateway_docs: bool = _setting(True, "Serve Swagger UI at /docs (its assets come from the swagger-ui-bundle "
                                  "package, never a CDN); /openapi.json is served either way.")
    # systems list (hub.systems.v1), followed by every gateway and worker
    systems_follow_interval_ms: int = _setting(1000, "How often gateways and workers re-read hub.systems.v1 "
                                               "(onboarding reaches them within about this).")
    systems_refresh_timeout_ms: int = _setting(5000, "Longest blocking read of hub.systems.v1 (start-up, or an "
                                               "unknown key or system met).")
    outbox_path: str = _setting("", "SQLite file of the publisher SDK's outbox.",
                                shown="$HUB_DATA_DIR/outbox.sqlite3", under_data_dir="outbox.sqlite3")
    outbox_max_bytes: int = _setting(256 * 1024 * 1024, "Largest outbox size on disk before publish() refuses.")
    schemas_dir: str = _setting(PACKAGED_SCHEMAS, "Folder of the .avsc files and their id lock (registry.json).",
                                shown="hub/schemas (package data)")
    # read side of the gateway: the read model behind the read API and the dashboard (hub/read/model.py)
    read_model_interval_ms: int = _setting(1000, "How often the gateway's read model reads what was added to the KPI, "
                                           "directive and freshness feeds.")
    session_key: str = _setting("", "Secret that signs dashboard session cookies (any string, 32+ random bytes); "
                                "empty: a random key per gateway process (sessions end when it restarts, and do "
                                "not work across several gateways behind one address).", secret=True)
    session_hours: int = _setting(12, "How long a dashboard login lasts.")
    login_max_failures: int = _setting(5, "Failed dashboard logins allowed per account and per client address "
                                       "within HUB_LOGIN_WINDOW_S; further attempts are answered 429 until the "
                                       "oldest failure leaves the window.")
    login_window_s: int = _setting(300, "Window (seconds) over which failed dashboard logins are counted.")
    dashboard_refresh_s: int = _setting(60, "Seconds after which a dashboard page reloads itself (a meta "
                                        "refresh, no script) in a browser whose viewer turned automatic "
                                        "reload on (a link on every page; off by default, WCAG 2.2.1); "
                                        "0: no automatic reload at all.")
    kpi_min_volume: int = _setting(10, "Fewest dossiers in scope for a commune to be ranked on the dashboard; "
                                   "communes with fewer are listed apart, not ranked (0 of 1 is no signal).")
    # analytics: directive reach SLAs, working days, freshness (hub/analytics/config.py reads them)
    clock: str = _setting("", "Testing aid: a fixed ISO 8601 instant the analytics take as now (empty: the system "
                          "clock). Never in production.")
    analytics_timer_s: int = _setting(2, "Seconds between two runs of the analytics timers (KPI rows of changed "
                                      "periods, directive deadlines, silent systems).")
    kpi_refresh_s: int = _setting(60, "Seconds between two recomputations of every commune's current day, month "
                                  "and quarter (open dossiers become overdue without any event).")
    directive_all_documents: bool = _setting(False, "Directive reach also follows every province-to-commune "
                                             "document, not only directives (SteeringType 1).")
    directive_sla_arrival: str = _setting(
        "1h", "Directive SLA for arrival (status 01) after sending: one SLA, or PRIORITY=SLA pairs; "
        "SLA is <n>m, <n>h, <n>d (clock) or <n>wd (working days).")
    directive_sla_acceptance: str = _setting(
        "NORMAL=1wd,URGENT=4h,VERY_URGENT=4h,EXPRESS=4h,EXPRESS_FIXED_TIME=4h",
        "Directive SLA for acceptance (status 03) after sending, per priority (same syntax).")
    status_backdate_tolerance: str = _setting(
        "1h", "How much earlier than the hub received it a status notification may claim to be (<n>m or <n>h); "
        "beyond it, directive reach counts the status at its receipt time and flags the row late_report.")
    directive_alert_grace: str = _setting(
        "5m", "How long after a deadline (or after the hub first read a directive, whichever is later) a missing "
        "answer waits before directive_overdue fires, for statuses still on their way (<n>s, <n>m or <n>h); "
        "the alert also waits until the worker has read its input to the end.")
    working_holidays: str = _setting(
        "", "Extra days off (YYYY-MM-DD, comma separated) for `wd` SLAs, on top of Saturday, Sunday, Vietnam's "
        "public holidays (the holidays package: Tết by the lunar calendar) and the official swaps shipped in "
        "hub/data/working_calendar.csv; e.g. a day off the province announces. A year named here or in "
        "HUB_WORKING_DAYS counts as having its official schedule (no calendar_stale).")
    working_days: str = _setting(
        "", "Extra working days (YYYY-MM-DD, comma separated) that win over weekends and holidays, e.g. a make-up "
        "Saturday (làm bù) not shipped yet; a date may not be in both lists.")
    freshness_silent_hours: str = _setting("dossier=24,document=72,target=840,default=72",
                                           "Hours without a feed record after which a system is silent, per kind "
                                           "(KIND=hours pairs; default for other kinds). Communes report targets "
                                           "monthly: 840 h is 35 days.")
    # targets and disbursement (hub/analytics/targets.py reads them; rules in docs/targets.md)
    target_behind_points: int = _setting(10, "A target is behind when its completion rate is below the share "
                                         "expected by today by more than this many percentage points.")
    target_no_report_days: int = _setting(30, "A target is no_report when its latest counted report is as of "
                                          "more than this many days before today (or nothing was reported for "
                                          "that long since the plan started).")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``HUB_<FIELD>`` variables; ``overrides`` win over the environment."""
        source: Mapping[str, str] = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = source.get("HUB_" + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        values.update(overrides)
        data_dir = Path(values.get("data_dir", cls.data_dir)).absolute()
        for f in dataclasses.fields(cls):
            if f.metadata["under_data_dir"] and f.name not in values:
                values[f.name] = str(data_dir / f.metadata["under_data_dir"])
        settings = cls(**values)
        # Every value is held to its rule here, so a bad one stops the process before it does
        # anything (hub/settings_rules.py; overrides too: tests and tools build settings this way).
        settings_rules.validate(settings)
        return settings

    def topic(self, name: str) -> str:
        """Full topic name for a contract topic name (adds the prefix)."""
        return self.topic_prefix + name

    @property
    def app_id(self) -> str:
        return self.topic_prefix + "hub"

    def group(self, processor: str) -> str:
        """Consumer group (and transactional id prefix) of one stream processor, e.g. ``hub-normalize``."""
        return f"{self.app_id}-{processor}"

    def effective_pseudonym_key(self) -> bytes:
        """The HMAC key; dev mode falls back to a fixed, public key (never for real data)."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode()
        if self.dev_mode:
            return b"hub-dev-mode-pseudonym-key-not-secret"
        raise ConfigError("HUB_PSEUDONYM_KEY is not set; the hub refuses to pseudonymize without a secret "
                          "(set HUB_DEV_MODE=1 for local development only)")

    def max_future_skew_ms(self) -> int:
        return duration_ms(self.max_future_skew, "HUB_MAX_FUTURE_SKEW")

    def directive_alert_grace_ms(self) -> int:
        return duration_ms(self.directive_alert_grace, "HUB_DIRECTIVE_ALERT_GRACE")

    def organ_map(self) -> dict[str, str]:
        """Organization directory entries from settings (OrganId -> code)."""
        out: dict[str, str] = {}
        for item in filter(None, (p.strip() for p in self.organs.split(","))):
            organ, sep, code = item.partition("=")
            if not sep or not organ.strip() or not code.strip():
                raise ConfigError(f"HUB_ORGANS entry {item!r} is not OrganId=code")
            out[organ.strip()] = code.strip()
        return out

    @staticmethod
    def secret_names() -> frozenset[str]:
        """The HUB_* variables that hold secrets (never printed)."""
        return frozenset("HUB_" + f.name.upper() for f in dataclasses.fields(Settings) if f.metadata["secret"])

    @staticmethod
    def describe() -> list[tuple[str, str, str]]:
        """(variable, default, meaning) for every setting, for docs and ``hub settings``."""
        rows = []
        for f in dataclasses.fields(Settings):
            default = "" if f.metadata["secret"] else f.metadata["shown"] or str(f.default)
            rows.append(("HUB_" + f.name.upper(), default, f.metadata["doc"]))
        return rows


_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000}


def duration_ms(text: str, name: str) -> int:
    """``30s`` / ``10m`` / ``2h`` -> milliseconds; anything else is a ConfigError naming the setting."""
    value = text.strip()
    if not (2 <= len(value) <= 7 and value[:-1].isdigit() and value[:-1].isascii() and value[-1] in _UNIT_MS):
        raise ConfigError(f"{name}: {value[:20]!r} must be <n>s, <n>m or <n>h (e.g. 30s, 10m, 1h)")
    return int(value[:-1]) * _UNIT_MS[value[-1]]


def _convert(name: str, typ: Any, raw: str) -> Any:
    typ = str(typ)
    try:
        if typ == "bool":
            low = raw.strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if typ == "int":
            return int(raw)
    except ValueError:
        rule = settings_rules.BOOL_RULE if typ == "bool" else settings_rules.rule_text(name, "must be an integer")
        raise ConfigError(f"HUB_{name.upper()}={settings_rules.shown(raw)}: {rule}") from None
    return raw
