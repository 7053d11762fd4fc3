"""Every HUB_* setting is held to its rule when it is read: a bad value stops the process with one
line naming the variable, the value and the rule (hub issue 25; hub/settings_rules.py)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from hub import settings_rules
from hub.errors import ConfigError
from hub.settings import ROOT, Settings

# (variable, bad value, the whole error line after "hub: "). One row per setting that has a rule.
BAD = [
    ("HUB_KAFKA_BOOTSTRAP", "127.0.0.1",
     "HUB_KAFKA_BOOTSTRAP=127.0.0.1: must be host:port, comma separated, with ports from 1 to 65535"),
    ("HUB_KAFKA_SECURITY", "kerberos", "HUB_KAFKA_SECURITY=kerberos: must be one of plaintext, scram"),
    ("HUB_TOPIC_PREFIX", "tenant 7", "HUB_TOPIC_PREFIX='tenant 7': must be at most 100 characters of "
                                     "A-Z a-z 0-9 . _ - (it starts every topic name)"),
    ("HUB_PARTITIONS", "-3", "HUB_PARTITIONS=-3: must be an integer from 1 to 10000"),
    ("HUB_REPLICATION_FACTOR", "0", "HUB_REPLICATION_FACTOR=0: must be an integer from 1 to 100"),
    ("HUB_MIN_INSYNC_REPLICAS", "2",
     "HUB_MIN_INSYNC_REPLICAS=2: must be an integer from 1 to HUB_REPLICATION_FACTOR (1)"),
    ("HUB_RAW_RETENTION_HOURS", "0", "HUB_RAW_RETENTION_HOURS=0: must be an integer from 1 to 1000000"),
    ("HUB_FEED_RETENTION_DAYS", "0", "HUB_FEED_RETENTION_DAYS=0: must be an integer from 1 to 100000"),
    ("HUB_PROVINCE", "Gia Lai", "HUB_PROVINCE='Gia Lai': must be a two-digit province code (e.g. 52)"),
    ("HUB_ORGANS", "000.00.12.H41", "HUB_ORGANS=000.00.12.H41: must be OrganId=code entries, comma separated"),
    ("HUB_DEDUPE_WINDOW_HOURS", "0", "HUB_DEDUPE_WINDOW_HOURS=0: must be an integer from 1 to 100000"),
    ("HUB_MAX_PAYLOAD_BYTES", "0", "HUB_MAX_PAYLOAD_BYTES=0: must be an integer from 1 to 104857600"),
    ("HUB_MAX_RECORD_MS", "-1", "HUB_MAX_RECORD_MS=-1: must be 0 (no budget) or an integer from 1 to 3600000"),
    ("HUB_MAX_FUTURE_SKEW", "10", "HUB_MAX_FUTURE_SKEW=10: must be <n>s, <n>m or <n>h (e.g. 30s, 10m, 1h)"),
    ("HUB_LOG_LEVEL", "LOUD", "HUB_LOG_LEVEL=LOUD: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("HUB_LOG_REJECTED_BURST", "-1",
     "HUB_LOG_REJECTED_BURST=-1: must be 0 (every line only counted) or an integer from 1 to 1000000"),
    ("HUB_LOG_REJECTED_WINDOW_S", "0", "HUB_LOG_REJECTED_WINDOW_S=0: must be an integer from 1 to 86400"),
    ("HUB_WORKER_STORE", "redis://", "HUB_WORKER_STORE=redis://: must be one of rocksdb://, memory://"),
    ("HUB_DATA_DIR", " ", "HUB_DATA_DIR=' ': must not be empty"),
    ("HUB_WORKER_DATA_DIR", "", "HUB_WORKER_DATA_DIR='': must not be empty"),
    ("HUB_WORKER_PROCESSORS", "normalize,magic",
     "HUB_WORKER_PROCESSORS=normalize,magic: must name processors from normalize, kpi, directives, freshness, "
     "targets, comma separated"),
    ("HUB_WORKER_SESSION_TIMEOUT_S", "0", "HUB_WORKER_SESSION_TIMEOUT_S=0: must be an integer from 1 to 1800"),
    ("HUB_WORKER_BATCH_MAX", "0", "HUB_WORKER_BATCH_MAX=0: must be an integer from 1 to 100000"),
    ("HUB_WORKER_BATCH_WAIT_MS", "0", "HUB_WORKER_BATCH_WAIT_MS=0: must be an integer from 1 to 60000"),
    ("HUB_WORKER_TRANSACTION_TIMEOUT_MS", "999",
     "HUB_WORKER_TRANSACTION_TIMEOUT_MS=999: must be an integer from 1000 to 900000"),
    ("HUB_WORKER_LINGER_MS", "-5", "HUB_WORKER_LINGER_MS=-5: must be an integer from 0 to 60000"),
    ("HUB_WORKER_COMPRESSION", "brotli", "HUB_WORKER_COMPRESSION=brotli: must be one of none, lz4, gzip "
                                         "(what every reader of the hub decompresses)"),
    ("HUB_WORKER_STATS_INTERVAL_S", "0", "HUB_WORKER_STATS_INTERVAL_S=0: must be an integer from 1 to 86400"),
    ("HUB_WORKER_STALL_S", "-1", "HUB_WORKER_STALL_S=-1: must be 0 (derived from the transaction timeout) or "
                                 "an integer from 1 to 86400"),
    ("HUB_WORKER_SHUTDOWN_S", "0", "HUB_WORKER_SHUTDOWN_S=0: must be an integer from 1 to 3600"),
    ("HUB_WORKER_POISON_ATTEMPTS", "0", "HUB_WORKER_POISON_ATTEMPTS=0: must be an integer from 1 to 100"),
    ("HUB_PARTITION_STUCK_S", "0", "HUB_PARTITION_STUCK_S=0: must be an integer from 1 to 604800"),
    ("HUB_DLQ_MAX_VALUE_BYTES", "0", "HUB_DLQ_MAX_VALUE_BYTES=0: must be an integer from 1 to 104857600"),
    ("HUB_WORKER_METRICS_HOST", " ", "HUB_WORKER_METRICS_HOST=' ': must not be empty"),
    ("HUB_WORKER_METRICS_PORT", "70000",
     "HUB_WORKER_METRICS_PORT=70000: must be 0 (off) or an integer from 1 to 65535"),
    ("HUB_GATEWAY_HOST", "", "HUB_GATEWAY_HOST='': must not be empty"),
    ("HUB_GATEWAY_PORT", "99999", "HUB_GATEWAY_PORT=99999: must be an integer from 1 to 65535"),
    ("HUB_GATEWAY_MAX_BATCH", "0", "HUB_GATEWAY_MAX_BATCH=0: must be an integer from 1 to 100000"),
    ("HUB_GATEWAY_MAX_BODY_BYTES", "0", "HUB_GATEWAY_MAX_BODY_BYTES=0: must be an integer from 1 to 1073741824"),
    ("HUB_GATEWAY_DELIVERY_TIMEOUT_MS", "0",
     "HUB_GATEWAY_DELIVERY_TIMEOUT_MS=0: must be an integer from 1 to 3600000"),
    ("HUB_GATEWAY_HEADER_TIMEOUT_MS", "0", "HUB_GATEWAY_HEADER_TIMEOUT_MS=0: must be an integer from 1 to 3600000"),
    ("HUB_GATEWAY_BODY_TIMEOUT_MS", "0", "HUB_GATEWAY_BODY_TIMEOUT_MS=0: must be an integer from 1 to 3600000"),
    ("HUB_GATEWAY_MAX_IN_FLIGHT", "0", "HUB_GATEWAY_MAX_IN_FLIGHT=0: must be an integer from 1 to 100000"),
    ("HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES", "0",
     "HUB_GATEWAY_REGISTRY_MAX_BODY_BYTES=0: must be an integer from 1 to 1073741824"),
    ("HUB_GATEWAY_OPS_HOST", "", "HUB_GATEWAY_OPS_HOST='': must not be empty"),
    ("HUB_GATEWAY_OPS_PORT", "8080",
     "HUB_GATEWAY_OPS_PORT=8080: must differ from HUB_GATEWAY_PORT (or be 0: on the public listener)"),
    ("HUB_SYSTEMS_FOLLOW_INTERVAL_MS", "0", "HUB_SYSTEMS_FOLLOW_INTERVAL_MS=0: must be an integer from 1 to 86400000"),
    ("HUB_SYSTEMS_REFRESH_TIMEOUT_MS", "0", "HUB_SYSTEMS_REFRESH_TIMEOUT_MS=0: must be an integer from 1 to 3600000"),
    ("HUB_OUTBOX_PATH", "", "HUB_OUTBOX_PATH='': must not be empty"),
    ("HUB_OUTBOX_MAX_BYTES", "0", "HUB_OUTBOX_MAX_BYTES=0: must be an integer from 1 to 1099511627776"),
    ("HUB_SCHEMAS_DIR", "", "HUB_SCHEMAS_DIR='': must not be empty"),
    ("HUB_READ_MODEL_INTERVAL_MS", "0", "HUB_READ_MODEL_INTERVAL_MS=0: must be an integer from 1 to 3600000"),
    ("HUB_SESSION_HOURS", "0", "HUB_SESSION_HOURS=0: must be an integer from 1 to 8760"),
    ("HUB_CLOCK", "yesterday", "HUB_CLOCK=yesterday: must be empty or an ISO 8601 instant with Z or an offset "
                               "(e.g. 2025-12-10T05:00:00Z)"),
    ("HUB_ANALYTICS_TIMER_S", "0", "HUB_ANALYTICS_TIMER_S=0: must be an integer from 1 to 86400"),
    ("HUB_KPI_REFRESH_S", "0", "HUB_KPI_REFRESH_S=0: must be an integer from 1 to 86400"),
    ("HUB_LOGIN_MAX_FAILURES", "0", "HUB_LOGIN_MAX_FAILURES=0: must be an integer from 1 to 1000"),
    ("HUB_LOGIN_WINDOW_S", "0", "HUB_LOGIN_WINDOW_S=0: must be an integer from 1 to 86400"),
    ("HUB_DASHBOARD_REFRESH_S", "-1", "HUB_DASHBOARD_REFRESH_S=-1: must be 0 (off) or an integer from 1 to 86400"),
    ("HUB_KPI_MIN_VOLUME", "0", "HUB_KPI_MIN_VOLUME=0: must be an integer from 1 to 1000000"),
    # the analytics parsers' own lines (they already name the variable, the offending item and the rule)
    ("HUB_DIRECTIVE_SLA_ARRIVAL", "soon",
     "HUB_DIRECTIVE_SLA_ARRIVAL: SLA 'soon' must be <number><m|h|d|wd> (e.g. 4h, 1wd)"),
    ("HUB_DIRECTIVE_SLA_ACCEPTANCE", "URGENT=4h",
     "HUB_DIRECTIVE_SLA_ACCEPTANCE: NORMAL=<sla> is required (it applies to priorities not listed)"),
    ("HUB_STATUS_BACKDATE_TOLERANCE", "2d", "HUB_STATUS_BACKDATE_TOLERANCE=2d: must be <n>m or <n>h (e.g. 30m, 1h)"),
    ("HUB_DIRECTIVE_ALERT_GRACE", "5 minutes",
     "HUB_DIRECTIVE_ALERT_GRACE='5 minutes': must be <n>s, <n>m or <n>h (e.g. 30s, 10m, 1h)"),
    ("HUB_WORKING_HOLIDAYS", "30/04/2025", "HUB_WORKING_HOLIDAYS: holiday '30/04/2025' must be YYYY-MM-DD"),
    ("HUB_WORKING_DAYS", "2025-13-01", "HUB_WORKING_DAYS: working day '2025-13-01' is not a calendar date"),
    ("HUB_FRESHNESS_SILENT_HOURS", "dossier", "HUB_FRESHNESS_SILENT_HOURS: entry 'dossier' must be NAME=value"),
    ("HUB_TARGET_BEHIND_POINTS", "101", "HUB_TARGET_BEHIND_POINTS=101: must be an integer from 0 to 100"),
    ("HUB_TARGET_NO_REPORT_DAYS", "0", "HUB_TARGET_NO_REPORT_DAYS=0: must be an integer from 1 to 3660"),
]


@pytest.mark.parametrize(("var", "value", "line"), BAD, ids=[row[0] for row in BAD])
def test_a_bad_value_is_refused_with_the_variable_value_and_rule(var, value, line):
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env={var: value})
    assert str(err.value) == line


def test_every_setting_has_a_rule_or_a_reason_not_to_and_every_rule_a_bad_case():
    """A setting added without a rule (or a FREE_TEXT reason) fails here, and so does a rule without a row in BAD."""
    fields = {f.name: str(f.type) for f in dataclasses.fields(Settings)}
    unruled = {n for n, t in fields.items() if t != "bool"} - set(settings_rules.RULES) - set(settings_rules.FREE_TEXT)
    assert unruled == set(), f"give these settings a rule in hub/settings_rules.py: {sorted(unruled)}"
    assert set(settings_rules.RULES) | set(settings_rules.FREE_TEXT) <= set(fields)
    assert {"HUB_" + n.upper() for n in settings_rules.RULES} == {row[0] for row in BAD}


def test_the_defaults_and_the_edges_of_each_range_are_accepted():
    assert Settings.from_env(env={}).worker_batch_max == 1000
    edges = {"HUB_PARTITIONS": "1", "HUB_GATEWAY_PORT": "65535", "HUB_GATEWAY_OPS_PORT": "0",
             "HUB_WORKER_METRICS_PORT": "0", "HUB_MAX_RECORD_MS": "0", "HUB_WORKER_STALL_S": "0",
             "HUB_WORKER_BATCH_MAX": "100000", "HUB_WORKER_TRANSACTION_TIMEOUT_MS": "1000",
             "HUB_WORKER_COMPRESSION": "none", "HUB_LOG_LEVEL": "warning", "HUB_KAFKA_SECURITY": " SCRAM ",
             "HUB_KAFKA_BOOTSTRAP": "b1:9092, b2:9093", "HUB_REPLICATION_FACTOR": "3", "HUB_MIN_INSYNC_REPLICAS": "3",
             "HUB_TOPIC_PREFIX": "tenant_7.", "HUB_CLOCK": "2025-12-10T05:00:00+07:00",
             "HUB_ORGANS": "000.00.12.H41=23749",
             "HUB_WORKER_PROCESSORS": "kpi, targets", "HUB_TARGET_BEHIND_POINTS": "0", "HUB_LOG_REJECTED_BURST": "0"}
    s = Settings.from_env(env=edges)
    assert (s.partitions, s.gateway_port, s.gateway_ops_port, s.min_insync_replicas) == (1, 65535, 0, 3)


def test_overrides_are_held_to_the_same_rules():
    """Tools and tests build settings with keyword overrides; those values are checked as the environment's."""
    with pytest.raises(ConfigError, match=r"^HUB_WORKER_BATCH_MAX=0: must be an integer from 1 to 100000$"):
        Settings.from_env(env={}, worker_batch_max=0)
    with pytest.raises(ConfigError, match=r"^HUB_GATEWAY_OPS_PORT=9000: must differ from HUB_GATEWAY_PORT"):
        Settings.from_env(env={}, gateway_port=9000, gateway_ops_port=9000)


@pytest.mark.parametrize(("env", "line"), [
    ({"HUB_WORKER_BATCH_MAX": "a thousand"},
     "HUB_WORKER_BATCH_MAX='a thousand': must be an integer from 1 to 100000"),
    ({"HUB_DEV_MODE": "maybe"}, "HUB_DEV_MODE=maybe: must be true or false (1, true, yes, on / 0, false, no, off)"),
    ({"HUB_GATEWAY_PORT": "80\n80"}, "HUB_GATEWAY_PORT='80\\n80': must be an integer from 1 to 65535"),
    ({"HUB_REPLICATION_FACTOR": "2", "HUB_MIN_INSYNC_REPLICAS": "3"},
     "HUB_MIN_INSYNC_REPLICAS=3: must be an integer from 1 to HUB_REPLICATION_FACTOR (2)"),
    ({"HUB_WORKING_HOLIDAYS": "2027-01-29,2027-01-30", "HUB_WORKING_DAYS": "2027-01-30"},
     "HUB_WORKING_DAYS and HUB_WORKING_HOLIDAYS both name 2027-01-30"),
    # librdkafka would write zstd, and every kafka-python reader of the hub would fail on it
    ({"HUB_WORKER_COMPRESSION": "zstd"},
     "HUB_WORKER_COMPRESSION=zstd: must be one of none, lz4, gzip (what every reader of the hub decompresses)"),
])
def test_unreadable_values_and_cross_field_rules_give_one_line(env, line):
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env=env)
    assert str(err.value) == line and "\n" not in str(err.value)


def test_a_long_value_is_cut_in_the_line():
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env={"HUB_PROVINCE": "5" * 500})
    assert str(err.value) == f"HUB_PROVINCE={'5' * 60}...: must be a two-digit province code (e.g. 52)"


@pytest.mark.parametrize(("command", "var", "value", "line"), [
    (["settings"], "HUB_WORKER_BATCH_MAX", "0", "hub: HUB_WORKER_BATCH_MAX=0: must be an integer from 1 to 100000"),
    (["topics", "create"], "HUB_PARTITIONS", "-3", "hub: HUB_PARTITIONS=-3: must be an integer from 1 to 10000"),
    (["settings"], "HUB_WORKER_COMPRESSION", "brotli",
     "hub: HUB_WORKER_COMPRESSION=brotli: must be one of none, lz4, gzip (what every reader of the hub decompresses)"),
])
def test_the_hub_command_stops_with_one_line_and_no_traceback(command, var, value, line):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_KAFKA_BOOTSTRAP": "127.0.0.1:1", var: value})  # nothing may reach a broker
    done = subprocess.run([sys.executable, "-m", "hub", *command], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", line + "\n")
