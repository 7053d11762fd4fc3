"""The rule each ``HUB_*`` setting is held to when it is read (:meth:`hub.settings.Settings.from_env`).

Without them a setting accepted nonsense and failed later, far from its cause, or not at all:
``HUB_WORKER_BATCH_MAX=0`` idled silently, ``HUB_PARTITIONS=-3`` failed inside ``hub topics create``,
``HUB_WORKER_COMPRESSION=brotli`` inside librdkafka, ``HUB_GATEWAY_PORT=99999`` inside uvicorn. Now a
value outside its rule stops every ``hub`` command before it does anything, with one line naming the
variable, the value and the rule::

    hub: HUB_WORKER_BATCH_MAX=0: must be an integer from 1 to 100000

:data:`RULES` is keyed by field name. Settings without a rule are listed in :data:`FREE_TEXT` with the
reason; tests/test_settings_validation.py fails for a setting that is in neither, so a new setting
gets a rule when it is added. Booleans need none (their conversion is their rule).

The analytics settings with a syntax of their own (SLAs, calendars, silence hours) are checked by
the parsers that read them (hub/analytics), whose messages already name the variable, the offending
item and the rule; they are raised as they are.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from hub.errors import ConfigError

if TYPE_CHECKING:
    from hub.settings import Settings

PORT_MAX = 65_535
KIB, MIB, GIB = 1024, 1024 * 1024, 1024 * 1024 * 1024
BOOL_RULE = "must be true or false (1, true, yes, on / 0, false, no, off)"


class Rule(Protocol):
    # read-only, so that frozen dataclasses and properties both keep the protocol
    @property
    def text(self) -> str:
        """The rule, as the error line says it ("must be ...")."""

    def broken(self, value: Any, s: Settings) -> str | None:
        """None when ``value`` keeps the rule, else what to say after ``HUB_X=value:``."""


@dataclass(frozen=True)
class Ints:
    """An integer from ``low`` to ``high``; with ``zero``, also 0, which then means ``zero``."""

    low: int
    high: int
    zero: str = ""

    @property
    def text(self) -> str:
        within = f"an integer from {self.low} to {self.high}"
        return f"must be 0 ({self.zero}) or {within}" if self.zero else f"must be {within}"

    def broken(self, value: Any, s: Settings) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool) and (
                self.low <= value <= self.high or (self.zero and value == 0)):
            return None
        return self.text


@dataclass(frozen=True)
class OneOf:
    """One of ``values``; ``fold``: case and surrounding blanks do not matter (the reader folds them too)."""

    values: tuple[str, ...]
    fold: bool = False
    why: str = ""

    @property
    def text(self) -> str:
        return f"must be one of {', '.join(self.values)}" + (f" ({self.why})" if self.why else "")

    def broken(self, value: Any, s: Settings) -> str | None:
        if self.fold:
            return None if str(value).strip().lower() in {v.lower() for v in self.values} else self.text
        return None if value in self.values else self.text


@dataclass(frozen=True)
class Matches:
    """A whole-string match of ``pattern``."""

    pattern: str
    text: str

    def broken(self, value: Any, s: Settings) -> str | None:
        return None if re.fullmatch(self.pattern, str(value)) else self.text


@dataclass(frozen=True)
class Check:
    """Any other rule: ``ok(value, settings)`` is None or the rule it breaks (cross-field rules)."""

    ok: Callable[[Any, Settings], str | None]
    text: str

    def broken(self, value: Any, s: Settings) -> str | None:
        return self.ok(value, s)


def _accepts(parse: Callable[[str], object]) -> Callable[[Any, Settings], bool]:
    """True when ``parse`` reads the value (it raises ConfigError otherwise)."""
    def ok(value: Any) -> bool:
        try:
            parse(str(value))
        except ConfigError:
            return False
        return True
    return lambda value, s: ok(value)


def _parsed(text: str, parse: Callable[[str], object]) -> Check:
    accepts = _accepts(parse)
    return Check(lambda v, s: None if accepts(v, s) else text, text)


def _raised(text: str, parse: Callable[[str], object]) -> Check:
    """``parse``'s own ConfigError, unchanged (it names the variable, the offending item and the rule)."""
    def ok(value: Any, s: Settings) -> None:
        parse(str(value))
        return None
    return Check(ok, text)


# -- the analytics parsers, imported when used: hub.analytics imports hub.settings ------------------
def _sla(var: str) -> Callable[[str], object]:
    def parse(value: str) -> object:
        from hub.analytics.config import _by_priority
        return _by_priority(value, var)
    return parse


def _days(var: str, noun: str) -> Callable[[str], frozenset[int]]:
    def parse(value: str) -> frozenset[int]:
        from hub.analytics.worktime import parse_holidays
        return parse_holidays(value, var, noun)
    return parse


def _silent_hours(value: str) -> object:
    from hub.analytics.config import _hours, _pairs
    return _pairs(value, "HUB_FRESHNESS_SILENT_HOURS", _hours)


def _tolerance(value: str) -> object:
    from hub.analytics.directives import parse_tolerance
    return parse_tolerance(value)


def _clock(value: str) -> object:
    from hub.clock import from_setting
    return from_setting(value)


def _duration(var: str) -> Callable[[str], object]:
    def parse(value: str) -> object:
        from hub.settings import duration_ms
        return duration_ms(value, var)
    return parse


# -- cross-field and structured rules --------------------------------------------------------------
BOOTSTRAP_RULE = "must be host:port, comma separated, with ports from 1 to 65535"


def _bootstrap(value: Any, s: Settings) -> str | None:
    for entry in str(value).split(","):
        host, sep, port = entry.strip().rpartition(":")
        if not (sep and host and port.isdigit() and port.isascii() and 1 <= int(port) <= PORT_MAX):
            return BOOTSTRAP_RULE
    return None


def _min_insync(value: Any, s: Settings) -> str | None:
    # Kafka accepts min.insync.replicas above the replication factor, and then refuses every acks=all write.
    # HUB_REPLICATION_FACTOR comes first in field order, so it has passed its own rule by now.
    if Ints(1, s.replication_factor).broken(value, s):
        return f"must be an integer from 1 to HUB_REPLICATION_FACTOR ({s.replication_factor})"
    return None


OPS_PORT = Ints(1, PORT_MAX, zero="on the public listener")


def _ops_port(value: Any, s: Settings) -> str | None:
    # The operator listener is told apart from the public one by port alone (hub/gateway/ops_listener.py).
    if OPS_PORT.broken(value, s):
        return OPS_PORT.text
    if value and value == s.gateway_port:
        return "must differ from HUB_GATEWAY_PORT (or be 0: on the public listener)"
    return None


def _processors(value: Any, s: Settings) -> str | None:
    from hub.contract.topics import PROCESSORS
    names = [n.strip() for n in str(value).split(",") if n.strip()]
    if names and set(names) <= set(PROCESSORS):
        return None
    return f"must name processors from {', '.join(PROCESSORS)}, comma separated"


def _working_days(value: Any, s: Settings) -> str | None:
    days = _days("HUB_WORKING_DAYS", "working day")(str(value))
    both = days & _days("HUB_WORKING_HOLIDAYS", "holiday")(str(s.working_holidays))
    if both:
        from hub.analytics.periods import civil_from_days
        y, m, d = civil_from_days(min(both))
        # the calendar's own wording (hub.analytics.worktime.calendar), raised at read time
        raise ConfigError(f"HUB_WORKING_DAYS and HUB_WORKING_HOLIDAYS both name {y:04d}-{m:02d}-{d:02d}")
    return None


def _organs(value: Any, s: Settings) -> str | None:
    if not isinstance(value, str):
        return "must be OrganId=code entries, comma separated"
    try:
        s.organ_map()
    except ConfigError:
        return "must be OrganId=code entries, comma separated"
    return None


NOT_EMPTY = Matches(r"(?s).*\S.*", "must not be empty")
SECONDS = Ints(1, 86_400)
TIMEOUT_MS = Ints(1, 3_600_000)
BYTES = Ints(1, GIB)

RULES: dict[str, Rule] = {
    "kafka_bootstrap": Check(_bootstrap, BOOTSTRAP_RULE),
    "kafka_security": OneOf(("plaintext", "scram"), fold=True),
    "topic_prefix": Matches(r"[A-Za-z0-9._-]{0,100}", "must be at most 100 characters of A-Z a-z 0-9 . _ - "
                                                      "(it starts every topic name)"),
    "partitions": Ints(1, 10_000),
    "replication_factor": Ints(1, 100),
    "min_insync_replicas": Check(_min_insync, "must be an integer from 1 to HUB_REPLICATION_FACTOR"),
    "raw_retention_hours": Ints(1, 1_000_000),
    "feed_retention_days": Ints(1, 100_000),
    "province": Matches(r"[0-9]{2}", "must be a two-digit province code (e.g. 52)"),
    "organs": Check(_organs, "must be OrganId=code entries, comma separated"),
    "dedupe_window_hours": Ints(1, 100_000),
    "max_payload_bytes": Ints(1, 100 * MIB),
    "max_record_ms": Ints(1, 3_600_000, zero="no budget"),
    "max_future_skew": _parsed("must be <n>s, <n>m or <n>h (e.g. 30s, 10m, 1h)", _duration("HUB_MAX_FUTURE_SKEW")),
    "log_level": OneOf(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), fold=True),
    "log_rejected_burst": Ints(1, 1_000_000, zero="every line only counted"),
    "log_rejected_window_s": SECONDS,
    "worker_store": OneOf(("rocksdb://", "memory://")),
    "data_dir": NOT_EMPTY,
    "worker_data_dir": NOT_EMPTY,
    "worker_processors": Check(_processors, "must name processors, comma separated"),
    # the broker's group.max.session.timeout.ms is 30 minutes by default
    "worker_session_timeout_s": Ints(1, 1800),
    "worker_batch_max": Ints(1, 100_000),
    # 0 would make an idle engine spin on consume(timeout=0)
    "worker_batch_wait_ms": Ints(1, 60_000),
    # librdkafka's floor, and the broker's transaction.max.timeout.ms by default
    "worker_transaction_timeout_ms": Ints(1000, 900_000),
    "worker_linger_ms": Ints(0, 60_000),
    # zstd and snappy: librdkafka writes them, but kafka-python (hub tail, hub status, hub dlq, the
    # gateway's read model) has no codec for them here and fails on every record (UnsupportedCodecError)
    "worker_compression": OneOf(("none", "lz4", "gzip"), why="what every reader of the hub decompresses"),
    "worker_stats_interval_s": SECONDS,
    "worker_stall_s": Ints(1, 86_400, zero="derived from the transaction timeout"),
    "worker_shutdown_s": Ints(1, 3600),
    "worker_poison_attempts": Ints(1, 100),
    "partition_stuck_s": Ints(1, 7 * 86_400),
    "dlq_max_value_bytes": Ints(1, 100 * MIB),
    "worker_metrics_host": NOT_EMPTY,
    "worker_metrics_port": Ints(1, PORT_MAX, zero="off"),
    "gateway_host": NOT_EMPTY,
    "gateway_port": Ints(1, PORT_MAX),
    "gateway_max_batch": Ints(1, 100_000),
    "gateway_max_body_bytes": BYTES,
    "gateway_delivery_timeout_ms": TIMEOUT_MS,
    "gateway_header_timeout_ms": TIMEOUT_MS,
    "gateway_body_timeout_ms": TIMEOUT_MS,
    "gateway_max_in_flight": Ints(1, 100_000),
    "gateway_registry_max_body_bytes": BYTES,
    "gateway_ops_host": NOT_EMPTY,
    "gateway_ops_port": Check(_ops_port, OPS_PORT.text),
    "systems_follow_interval_ms": Ints(1, 86_400_000),
    "systems_refresh_timeout_ms": TIMEOUT_MS,
    "outbox_path": NOT_EMPTY,
    "outbox_max_bytes": Ints(1, 1024 * GIB),
    "schemas_dir": NOT_EMPTY,
    "read_model_interval_ms": TIMEOUT_MS,
    "session_hours": Ints(1, 8760),
    "login_max_failures": Ints(1, 1000),
    "login_window_s": Ints(1, 86_400),
    "dashboard_refresh_s": Ints(1, 86_400, zero="off"),
    "kpi_min_volume": Ints(1, 1_000_000),
    "clock": _parsed("must be empty or an ISO 8601 instant with Z or an offset (e.g. 2025-12-10T05:00:00Z)", _clock),
    "analytics_timer_s": SECONDS,
    "kpi_refresh_s": SECONDS,
    "directive_sla_arrival": _raised("must be one SLA or PRIORITY=SLA pairs", _sla("HUB_DIRECTIVE_SLA_ARRIVAL")),
    "directive_sla_acceptance": _raised("must be one SLA or PRIORITY=SLA pairs",
                                        _sla("HUB_DIRECTIVE_SLA_ACCEPTANCE")),
    "status_backdate_tolerance": _parsed("must be <n>m or <n>h (e.g. 30m, 1h)", _tolerance),
    "directive_alert_grace": _parsed("must be <n>s, <n>m or <n>h (e.g. 30s, 10m, 1h)",
                                     _duration("HUB_DIRECTIVE_ALERT_GRACE")),
    "working_holidays": _raised("must be YYYY-MM-DD dates, comma separated", _days("HUB_WORKING_HOLIDAYS", "holiday")),
    "working_days": Check(_working_days, "must be YYYY-MM-DD dates, comma separated, none of them a holiday"),
    "freshness_silent_hours": _raised("must be KIND=hours pairs", _silent_hours),
    "target_behind_points": Ints(0, 100),
    "target_no_report_days": Ints(1, 3660),
}

# Settings with no rule beyond their type, and why.
FREE_TEXT: dict[str, str] = {
    "kafka_username": "a Kafka principal; hub.kafka.config requires it with HUB_KAFKA_SECURITY=scram",
    "kafka_password": "secret; hub.kafka.config requires it with HUB_KAFKA_SECURITY=scram",
    "kafka_tls_ca_file": "a path; hub.kafka.config checks it is a file, when a client is made",
    "system_key": "secret; the SDK checks it when it signs",
    "pseudonym_key": "secret, any string",
    "applicant_pseudonym_key": "secret, any string",
    "applicant_pseudonym_key_id": "any label",
    "handler_pseudonym_key": "secret, any string",
    "handler_pseudonym_key_id": "any label",
    "worker_id": "any stable name",
    "session_key": "secret, any string",
}


def shown(value: Any, secret: bool = False) -> str:
    """A value as the error line shows it: one line, bounded, never a secret."""
    if secret:
        return "<secret>"
    text = str(value)
    if len(text) > 60:
        text = text[:60] + "..."
    # quoted when blanks or control characters would otherwise be invisible or break the line
    return text if text.isprintable() and text and " " not in text else repr(text)


def rule_text(name: str, default: str) -> str:
    rule = RULES.get(name)
    return rule.text if rule is not None else default


def validate(s: Settings) -> None:
    """Raise :class:`ConfigError` for the first setting (in field order) that breaks its rule."""
    for f in dataclasses.fields(s):
        rule = RULES.get(f.name)
        if rule is None:
            continue
        value = getattr(s, f.name)
        problem = rule.broken(value, s)
        if problem:
            raise ConfigError(f"HUB_{f.name.upper()}={shown(value, f.metadata['secret'])}: {problem}")
