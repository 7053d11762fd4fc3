"""hub.kafka.config: one settings -> client configuration mapping for kafka-python, aiokafka and librdkafka."""

from __future__ import annotations

import ssl

import pytest

from hub.errors import ConfigError
from hub.kafka import config as kafka_config
from hub.settings import Settings


def settings(**kw) -> Settings:
    return Settings.from_env(env={}, kafka_bootstrap="b1:9092,b2:9092", **kw)


def test_plaintext_is_the_default_and_adds_nothing_but_the_bootstrap():
    """Without HUB_KAFKA_SECURITY the three libraries get PLAINTEXT and no credentials."""
    s = settings()
    assert kafka_config.kafka_python(s, client_id="x") == {"bootstrap_servers": "b1:9092,b2:9092",
                                                           "security_protocol": "PLAINTEXT", "client_id": "x"}
    assert kafka_config.aiokafka(s) == {"bootstrap_servers": "b1:9092,b2:9092", "security_protocol": "PLAINTEXT"}
    assert kafka_config.librdkafka(s, {"client.id": "x"}) == {"bootstrap.servers": "b1:9092,b2:9092",
                                                               "security.protocol": "plaintext", "client.id": "x"}
    assert kafka_config.secure(s) is False


def test_scram_gives_each_library_its_spelling_of_sasl_scram_sha_512():
    """scram: SASL_PLAINTEXT with mechanism SCRAM-SHA-512 and the user's credentials, in each library's names."""
    s = settings(kafka_security="scram", kafka_username="hub-worker", kafka_password="pw-0123456789abcdef")
    kp = kafka_config.kafka_python(s)
    assert (kp["security_protocol"], kp["sasl_mechanism"], kp["sasl_plain_username"], kp["sasl_plain_password"]) \
        == ("SASL_PLAINTEXT", "SCRAM-SHA-512", "hub-worker", "pw-0123456789abcdef")
    ak = kafka_config.aiokafka(s)
    assert (ak["security_protocol"], ak["sasl_mechanism"], ak["sasl_plain_username"], ak["sasl_plain_password"]) \
        == ("SASL_PLAINTEXT", "SCRAM-SHA-512", "hub-worker", "pw-0123456789abcdef")
    rd = kafka_config.librdkafka(s)
    assert (rd["security.protocol"], rd["sasl.mechanisms"], rd["sasl.username"], rd["sasl.password"]) \
        == ("sasl_plaintext", "SCRAM-SHA-512", "hub-worker", "pw-0123456789abcdef")
    assert kafka_config.secure(s) is True


def test_tls_with_a_ca_file_verifies_the_broker_in_every_library(tmp_path):
    """HUB_KAFKA_TLS + CA file: SASL_SSL; kafka-python gets ssl_cafile, aiokafka a verifying SSLContext,
    librdkafka ssl.ca.location; hostname verification stays on."""
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate: only the path is used here")
    s = settings(kafka_security="scram", kafka_username="u", kafka_password="p" * 20, kafka_tls=True,
                 kafka_tls_ca_file=str(ca))
    kp = kafka_config.kafka_python(s)
    assert kp["security_protocol"] == "SASL_SSL" and kp["ssl_cafile"] == str(ca)
    assert "ssl_check_hostname" not in kp  # kafka-python's default (True) stands
    rd = kafka_config.librdkafka(s)
    assert rd["security.protocol"] == "sasl_ssl" and rd["ssl.ca.location"] == str(ca)
    assert "ssl.endpoint.identification.algorithm" not in rd  # librdkafka's default (https) stands
    with pytest.raises(ssl.SSLError):  # aiokafka's context loads the CA file: a bad file fails loudly
        kafka_config.aiokafka(s)


def test_tls_without_a_ca_file_uses_the_system_trust_store():
    """TLS with no CA file: aiokafka's context is verifying, librdkafka probes the system CA store."""
    s = settings(kafka_tls=True)
    assert kafka_config.kafka_python(s)["security_protocol"] == "SSL"
    ctx = kafka_config.aiokafka(s)["ssl_context"]
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname is True
    assert kafka_config.librdkafka(s)["ssl.ca.location"] == "probe"


@pytest.mark.parametrize(("kw", "needle"), [
    ({"kafka_security": "kerberos"}, "HUB_KAFKA_SECURITY"),
    ({"kafka_security": "scram"}, "HUB_KAFKA_USERNAME"),
    ({"kafka_security": "scram", "kafka_username": "u"}, "HUB_KAFKA_PASSWORD"),
    ({"kafka_tls_ca_file": "/etc/hosts"}, "HUB_KAFKA_TLS is off"),
    ({"kafka_tls": True, "kafka_tls_ca_file": "/nonexistent/ca.pem"}, "not a readable file"),
])
def test_incomplete_security_settings_are_refused_with_the_setting_named(kw, needle):
    """A mode, credential or CA file that cannot work is a ConfigError naming the HUB_* setting."""
    with pytest.raises(ConfigError, match=needle):
        kafka_config.kafka_python(settings(**kw))


def test_the_password_is_a_secret_setting():
    """HUB_KAFKA_PASSWORD and HUB_SYSTEM_KEY are secrets: not in repr, not in `hub settings` defaults."""
    s = settings(kafka_security="scram", kafka_username="u", kafka_password="do-not-print-me-1234",
                 system_key="hubk_do-not-print-me")
    assert "do-not-print-me" not in repr(s)
    assert {"HUB_KAFKA_PASSWORD", "HUB_SYSTEM_KEY"} <= Settings.secret_names()
    assert "do-not-print-me" not in repr(kafka_config.security(s))
