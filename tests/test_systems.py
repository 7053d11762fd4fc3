"""The systems registry on a real broker: onboarding, keys stored hashed, scope, revocation."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest
from conftest import ROOT, settings_env

from hub import topics
from hub.errors import ConfigError, Rejected
from hub.normalize.context import Scope
from hub.systems import KEY_PREFIX, SystemsRegistry, hash_key
from hub.testing import read_topic


@pytest.fixture
def settings(make_settings):
    return make_settings()


def test_add_returns_key_that_authenticates(settings):
    """A new system gets a hubk_ key that authenticates to it and to nothing else."""
    reg = SystemsRegistry(settings)
    key = reg.add("ialy-motcua", ["23734"], ["dossier"], ["000.00.12.H41"])
    assert key.startswith(KEY_PREFIX) and len(key) > 40
    system = reg.authenticate(key)
    assert system is not None and system.id == "ialy-motcua"
    assert system.communes == frozenset({"23734"}) and system.kinds == frozenset({"dossier"})
    assert system.key_hash == hash_key(key) and system.revoked_at is None
    assert reg.authenticate(key + "x") is None
    assert reg.authenticate("") is None
    assert reg.authenticate("not-a-hub-key") is None


def test_key_is_stored_only_hashed(settings):
    """The raw registry topic holds the SHA-256 of the key and never the key itself."""
    reg = SystemsRegistry(settings)
    key = reg.add("chupah-vanban", ["23722"], ["document"])
    records = read_topic(settings, settings.topic(topics.SYSTEMS))
    assert len(records) == 1
    raw = records[0].value
    assert key.encode() not in raw and key[len(KEY_PREFIX) :].encode() not in raw
    value = orjson.loads(raw)
    assert value["key_hash"] == hash_key(key)
    assert records[0].key == b"chupah-vanban"
    assert set(value) == {"id", "communes", "kinds", "organ_ids", "key_hash", "created_at", "revoked_at"}


def test_list_get_scope_and_organs(settings):
    """list/get/scope reflect registrations; organs map to the single commune or else the province."""
    reg = SystemsRegistry(settings)
    reg.add("ialy-vanban", ["23734"], ["document"], ["000.00.12.H41"])
    reg.add("multi-vanban", ["23722", "23728"], ["document", "dossier"], ["000.00.99.H41"])
    assert [s.id for s in reg.list()] == ["ialy-vanban", "multi-vanban"]
    assert reg.get("nope") is None
    assert reg.scope("multi-vanban") == Scope(
        frozenset({"23722", "23728"}), frozenset({"document", "dossier"})
    )
    assert reg.scope("nope") is None
    assert reg.organs() == {"000.00.12.H41": "23734", "000.00.99.H41": "52"}


def test_settings_organs_win_over_registry(make_settings):
    """HUB_ORGANS entries are merged into the directory and override registry entries."""
    s = make_settings(organs="000.00.12.H41=23749,000.00.01.H41=52")
    reg = SystemsRegistry(s)
    reg.add("ialy-vanban", ["23734"], ["document"], ["000.00.12.H41"])
    assert reg.organs() == {"000.00.12.H41": "23749", "000.00.01.H41": "52"}


def test_revoke_keeps_history_and_refuses_key(settings):
    """A revoked system keeps its record (revoked_at set) but its key and scope stop working."""
    reg = SystemsRegistry(settings)
    key = reg.add("ialy-motcua", ["23734"], ["dossier"], ["000.00.12.H41"])
    reg.revoke("ialy-motcua")
    system = reg.get("ialy-motcua")
    assert system is not None and system.revoked_at is not None
    assert reg.authenticate(key) is None
    assert reg.scope("ialy-motcua") is None
    assert reg.organs() == {}
    values = [orjson.loads(r.value) for r in read_topic(settings, settings.topic(topics.SYSTEMS))]
    assert [v["revoked_at"] is None for v in values] == [True, False]
    with pytest.raises(ConfigError, match="no system"):
        reg.revoke("never-added")


def test_readd_issues_new_key_and_updates_scope(settings):
    """Re-adding an id replaces its scope and key; the old key stops working."""
    reg = SystemsRegistry(settings)
    old = reg.add("ialy-motcua", ["23734"], ["dossier"])
    new = reg.add("ialy-motcua", ["23734", "23728"], ["dossier", "document"])
    assert old != new
    assert reg.authenticate(old) is None
    system = reg.authenticate(new)
    assert system is not None and system.communes == frozenset({"23734", "23728"})


def test_second_registry_sees_changes_after_refresh(settings):
    """Another registry on the same topic (another gateway or worker) sees adds and revocations."""
    first, second = SystemsRegistry(settings), SystemsRegistry(settings)
    second.refresh()
    key = first.add("ialy-motcua", ["23734"], ["dossier"])
    assert second.authenticate(key) is None
    second.refresh()
    assert second.authenticate(key) is not None
    first.revoke("ialy-motcua")
    second.refresh()
    assert second.authenticate(key) is None and second.get("ialy-motcua").revoked_at is not None
    second.stop()


def test_follower_thread_picks_up_changes(settings):
    """start() follows the topic, so a key added elsewhere authenticates without an explicit refresh."""
    from hub.testing import wait_for

    follower = SystemsRegistry(settings)
    follower.start(interval_s=0.2)
    try:
        assert follower.loaded
        key = SystemsRegistry(settings).add("iaphi-motcua", ["23749"], ["dossier"])
        wait_for(lambda: follower.authenticate(key), timeout_s=20, what="follower sees the new system")
    finally:
        follower.stop()


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("Bad Id!", ["23734"], ["dossier"]), "invalid_value"),
        (("ok", [], ["dossier"]), "missing_field"),
        (("ok", ["99999"], ["dossier"]), "unknown_commune"),
        (("ok", ["00004"], ["dossier"]), "commune_not_in_province"),
        (("ok", ["23734"], ["dossier", "video"]), "invalid_value"),
        (("ok", ["23734"], []), "missing_field"),
        (("ok", ["23734"], ["document"], ["bad organ"]), "invalid_value"),
    ],
)
def test_add_validates(settings, args, reason):
    """Invalid ids, communes (unknown or another province), kinds and organ ids are refused."""
    reg = SystemsRegistry(settings)
    with pytest.raises(Rejected) as info:
        reg.add(*args)
    assert info.value.reason == reason
    assert reg.list() == []


def test_organ_id_cannot_belong_to_two_active_systems(settings):
    """An OrganId registered by one active system is refused for another."""
    reg = SystemsRegistry(settings)
    reg.add("a", ["23734"], ["document"], ["000.00.12.H41"])
    with pytest.raises(Rejected, match="already registered by system a"):
        reg.add("b", ["23728"], ["document"], ["000.00.12.H41"])


def _hub(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hub", "systems", *args],
        env=settings_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_add_list_revoke(settings):
    """The CLI prints the key once on stdout, lists without hashes, and revokes."""
    added = _hub(
        settings,
        "add",
        "--id",
        "ialy-motcua",
        "--communes",
        "23734",
        "--kinds",
        "dossier,document",
        "--organ-id",
        "000.00.12.H41",
    )
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    assert key.startswith(KEY_PREFIX) and "\n" not in key
    assert "cannot be shown again" in added.stderr
    assert key not in added.stderr
    assert _refreshed_auth(settings, key) is not None

    table = _hub(settings, "list")
    assert table.returncode == 0 and "ialy-motcua" in table.stdout and "active" in table.stdout
    assert hash_key(key) not in table.stdout
    listed = [orjson.loads(line) for line in _hub(settings, "list", "--json").stdout.splitlines()]
    assert listed[0]["id"] == "ialy-motcua" and "key_hash" not in listed[0]

    assert _hub(settings, "revoke", "--id", "ialy-motcua").returncode == 0
    assert "revoked" in _hub(settings, "list").stdout
    bad = _hub(settings, "add", "--id", "x", "--communes", "00004", "--kinds", "dossier")
    assert bad.returncode == 2 and "belongs to province" in bad.stderr


def _refreshed_auth(settings, key: str):
    reg = SystemsRegistry(settings)
    reg.refresh()
    return reg.authenticate(key)
