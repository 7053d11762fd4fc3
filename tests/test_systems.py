"""The systems list: pure snapshots, a follower on a real broker, onboarding, roles and revocation."""

from __future__ import annotations

import subprocess
import sys
import threading

import orjson
import pytest
from conftest import ROOT, settings_env

from hub import systems
from hub.contract import topics
from hub.errors import ConfigError, Rejected
from hub.normalize.context import Scope
from hub.systems import KEY_PREFIX, System, SystemsFollower, SystemsSnapshot, _follower, hash_key
from hub.testing import read_topic, wait_for


@pytest.fixture
def settings(make_settings):
    return make_settings()


def _system(sid: str, key: str, communes=("23734",), kinds=("dossier",), organs=(), revoked=None, role="publisher"):
    return System(sid, frozenset(communes), frozenset(kinds), frozenset(organs), hash_key(key), 1, revoked, role)


# --- the snapshot: pure, no broker -------------------------------------------------------------
def test_snapshot_lookups_are_pure():
    """A snapshot built from records answers authenticate, get, scope and organs without any I/O."""
    key_a, key_b, key_r = KEY_PREFIX + "a" * 43, KEY_PREFIX + "b" * 43, KEY_PREFIX + "r" * 43
    snap = SystemsSnapshot.build(
        [
            _system("a", key_a, organs=("000.00.12.H41",)),
            _system("b", key_b, communes=("23722", "23728"), kinds=("document",), organs=("000.00.99.H41",)),
            _system("gone", KEY_PREFIX + "g" * 43, organs=("000.00.77.H41",), revoked=5),
            _system("dash", key_r, communes=(), kinds=(), role="reader"),
        ],
        province="52",
        extra_organs={"000.00.01.H41": "52"},
    )
    assert snap.authenticate(key_a).id == "a" and snap.authenticate(key_r).id == "dash"
    assert snap.authenticate(KEY_PREFIX + "g" * 43) is None  # revoked
    assert snap.authenticate(key_a + "x") is None and snap.authenticate("") is None
    assert snap.authenticate("not-a-hub-key") is None and snap.authenticate(KEY_PREFIX + "a" * 500) is None
    assert snap.scope("b") == Scope(frozenset({"23722", "23728"}), frozenset({"document"}),
                                    frozenset({"000.00.99.H41"}))
    assert snap.scope("gone") is None and snap.scope("dash") is None and snap.scope("nope") is None
    assert dict(snap.organs) == {"000.00.12.H41": "23734", "000.00.99.H41": "52", "000.00.01.H41": "52"}
    assert [s.id for s in snap.list()] == ["a", "b", "dash", "gone"]
    with pytest.raises(TypeError):
        snap.systems["x"] = snap.systems["a"]  # type: ignore[index]


def test_records_without_role_are_publishers():
    """A record written before roles existed reads as a publisher; an unknown role is refused."""
    old = orjson.dumps({"id": "old", "communes": ["23734"], "kinds": ["dossier"], "organ_ids": [],
                        "key_hash": "h", "created_at": 1, "revoked_at": None})
    assert System.from_json(old).role == "publisher"
    with pytest.raises(ValueError, match="role"):
        System.from_json(old.replace(b'"id"', b'"role":"admin","id"'))


# --- onboarding on a real broker ---------------------------------------------------------------
def test_add_returns_key_that_authenticates(settings):
    """A new system gets a hubk_ key that authenticates to it once the topic is read."""
    key = systems.add(settings, "ialy-motcua", ["23734"], ["dossier"], ["000.00.12.H41"])
    assert key.startswith(KEY_PREFIX) and len(key) > 40
    system = systems.read(settings).authenticate(key)
    assert system is not None and system.id == "ialy-motcua" and system.role == "publisher"
    assert system.communes == frozenset({"23734"}) and system.kinds == frozenset({"dossier"})
    assert system.key_hash == hash_key(key) and system.revoked_at is None


def test_key_is_stored_only_hashed(settings):
    """The raw systems topic holds the SHA-256 of the key and never the key itself."""
    key = systems.add(settings, "chupah-vanban", ["23722"], ["document"])
    records = read_topic(settings, settings.topic(topics.SYSTEMS))
    assert len(records) == 1
    raw = records[0].value
    assert key.encode() not in raw and key[len(KEY_PREFIX):].encode() not in raw
    value = orjson.loads(raw)
    assert value["key_hash"] == hash_key(key)
    assert records[0].key == b"chupah-vanban"
    assert set(value) == {"id", "role", "communes", "kinds", "organ_ids", "key_hash", "created_at", "revoked_at"}


def test_list_get_scope_and_organs(settings):
    """list/get/scope reflect registrations; organs map to the single commune or else the province."""
    systems.add(settings, "ialy-vanban", ["23734"], ["document"], ["000.00.12.H41"])
    systems.add(settings, "multi-vanban", ["23722", "23728"], ["document", "dossier"], ["000.00.99.H41"])
    snap = systems.read(settings)
    assert [s.id for s in snap.list()] == ["ialy-vanban", "multi-vanban"]
    assert snap.get("nope") is None
    assert snap.scope("multi-vanban") == Scope(frozenset({"23722", "23728"}), frozenset({"document", "dossier"}),
                                               frozenset({"000.00.99.H41"}))
    assert dict(snap.organs) == {"000.00.12.H41": "23734", "000.00.99.H41": "52"}


def test_settings_organs_win_over_registrations(make_settings):
    """HUB_ORGANS entries are merged into the directory and override registered entries."""
    s = make_settings(organs="000.00.12.H41=23749,000.00.01.H41=52")
    systems.add(s, "ialy-vanban", ["23734"], ["document"], ["000.00.12.H41"])
    assert dict(systems.read(s).organs) == {"000.00.12.H41": "23749", "000.00.01.H41": "52"}


def test_revoke_keeps_history_and_refuses_key(settings):
    """A revoked system keeps its record (revoked_at set) but its key, scope and organs stop working."""
    key = systems.add(settings, "ialy-motcua", ["23734"], ["dossier"], ["000.00.12.H41"])
    systems.revoke(settings, "ialy-motcua")
    snap = systems.read(settings)
    assert snap.get("ialy-motcua").revoked_at is not None
    assert snap.authenticate(key) is None and snap.scope("ialy-motcua") is None and dict(snap.organs) == {}
    values = [orjson.loads(r.value) for r in read_topic(settings, settings.topic(topics.SYSTEMS))]
    assert [v["revoked_at"] is None for v in values] == [True, False]
    with pytest.raises(ConfigError, match="no system"):
        systems.revoke(settings, "never-added")


def test_readd_issues_new_key_and_updates_scope(settings):
    """Re-adding an id replaces its scope and key; the old key stops working."""
    old = systems.add(settings, "ialy-motcua", ["23734"], ["dossier"])
    new = systems.add(settings, "ialy-motcua", ["23734", "23728"], ["dossier", "document"])
    snap = systems.read(settings)
    assert old != new and snap.authenticate(old) is None
    assert snap.authenticate(new).communes == frozenset({"23734", "23728"})


def test_reader_role(settings):
    """A reader needs no communes or kinds, authenticates, and is no publisher (no scope, no organs)."""
    key = systems.add(settings, "dashboard", role="reader")
    snap = systems.read(settings)
    reader = snap.authenticate(key)
    assert reader is not None and reader.role == "reader" and reader.communes == frozenset()
    assert snap.scope("dashboard") is None
    with pytest.raises(Rejected) as info:
        systems.add(settings, "dash2", ["23734"], role="reader")
    assert (info.value.reason, info.value.field) == ("invalid_value", "role")


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
    """Invalid ids, communes (unknown or another province), kinds and organ ids are refused, nothing written."""
    with pytest.raises(Rejected) as info:
        systems.add(settings, *args)
    assert info.value.reason == reason
    assert systems.read(settings).list() == []


def test_organ_id_cannot_belong_to_two_active_systems(settings):
    """An OrganId registered by one active system is refused for another."""
    systems.add(settings, "a", ["23734"], ["document"], ["000.00.12.H41"])
    with pytest.raises(Rejected, match="already registered by system a"):
        systems.add(settings, "b", ["23728"], ["document"], ["000.00.12.H41"])


# --- the follower --------------------------------------------------------------------------------
def test_follower_refresh_now_sees_adds_and_revocations(settings):
    """Another process's add and revoke are visible after refresh_now (what the worker calls on a miss)."""
    with SystemsFollower(settings, interval_s=3600).start() as follower:
        assert follower.loaded
        key = systems.add(settings, "ialy-motcua", ["23734"], ["dossier"])
        before = follower.snapshot
        assert before.authenticate(key) is None
        after = follower.refresh_now(10)
        assert after.authenticate(key) is not None and follower.snapshot is after
        assert before.authenticate(key) is None  # an old snapshot never changes under its reader
        systems.revoke(settings, "ialy-motcua")
        assert follower.refresh_now(10).authenticate(key) is None


def test_follower_thread_picks_up_changes(settings):
    """start() follows the topic, so a key added elsewhere authenticates without an explicit refresh."""
    with SystemsFollower(settings, interval_s=0.2).start() as follower:
        key = systems.add(settings, "iaphi-motcua", ["23749"], ["dossier"])
        wait_for(lambda: follower.snapshot.authenticate(key), timeout_s=20, what="follower sees the new system")


class StalledConsumer:
    """A real consumer whose end_offsets waits on an event: a broker that stalls mid-read."""

    def __init__(self, inner, entered: threading.Event, release: threading.Event):
        self._inner, self._entered, self._release = inner, entered, release

    def end_offsets(self, *args, **kwargs):
        self._entered.set()
        self._release.wait(120)
        return self._inner.end_offsets(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_lookups_do_not_wait_for_a_stalled_read(settings):
    """While a read of the topic is stalled, the snapshot answers lookups at once (no lock on lookups)."""
    key = systems.add(settings, "ialy-motcua", ["23734"], ["dossier"])
    entered, release = threading.Event(), threading.Event()
    stall = {"on": False}

    def factory(s):
        consumer = _follower._kafka_consumer(s)
        return StalledConsumer(consumer, entered, release) if stall["on"] else consumer

    follower = SystemsFollower(settings, interval_s=3600, consumer_factory=factory).start()
    try:
        follower._close_consumer()  # the next read builds a stalled consumer
        stall["on"] = True
        reader = threading.Thread(target=follower.refresh_now, args=(60,), daemon=True)
        reader.start()
        assert entered.wait(30)
        assert follower.snapshot.authenticate(key).id == "ialy-motcua"  # answered while the read is stuck
        assert follower.snapshot.scope("ialy-motcua") is not None
        assert reader.is_alive()
    finally:
        release.set()
        follower.stop()


# --- the CLI ---------------------------------------------------------------------------------------
def _hub(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub", "systems", *args], env=settings_env(settings), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_add_list_revoke(settings):
    """The CLI prints the key once on stdout after the record is on the topic, lists without hashes, revokes."""
    added = _hub(settings, "add", "--id", "ialy-motcua", "--communes", "23734", "--kinds", "dossier,document",
                 "--organ-id", "000.00.12.H41")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    assert key.startswith(KEY_PREFIX) and "\n" not in key
    assert "cannot be shown again" in added.stderr and key not in added.stderr
    # Acknowledged before the command returned: the topic already holds it, no waiting needed.
    assert [r.key for r in read_topic(settings, settings.topic(topics.SYSTEMS))] == [b"ialy-motcua"]
    assert systems.read(settings).authenticate(key) is not None

    table = _hub(settings, "list")
    assert table.returncode == 0 and "ialy-motcua" in table.stdout and "active" in table.stdout
    assert hash_key(key) not in table.stdout
    listed = [orjson.loads(line) for line in _hub(settings, "list", "--json").stdout.splitlines()]
    assert listed[0]["id"] == "ialy-motcua" and listed[0]["role"] == "publisher" and "key_hash" not in listed[0]

    assert _hub(settings, "revoke", "--id", "ialy-motcua").returncode == 0
    assert "revoked" in _hub(settings, "list").stdout
    bad = _hub(settings, "add", "--id", "x", "--communes", "00004", "--kinds", "dossier")
    assert bad.returncode == 2 and "belongs to province" in bad.stderr


def test_cli_add_reader(settings):
    """`hub systems add --id NAME --role reader` prints a reader key once; list shows the role."""
    added = _hub(settings, "add", "--id", "dashboard", "--role", "reader")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    assert key.startswith(KEY_PREFIX) and key not in added.stderr
    assert systems.read(settings).authenticate(key).role == "reader"
    [listed] = [orjson.loads(line) for line in _hub(settings, "list", "--json").stdout.splitlines()]
    assert (listed["role"], listed["communes"], listed["kinds"]) == ("reader", [], [])


# --- the commune's focal contact -------------------------------------------------------------------
OFFICE = systems.Contact("Văn phòng HĐND-UBND xã", "0269 3845 123", "vanphong@ialy.gialai.gov.vn")


def test_contact_round_trips_and_old_records_have_none():
    """A record with a contact reads back equal; one written before contacts existed (no "contact" key) loads
    with none; a record without a contact is written without the key, so older readers see what they knew."""
    with_contact = _system("ialy", KEY_PREFIX + "a" * 43)
    with_contact = System(**{**with_contact.__dict__, "contact": OFFICE})
    assert System.from_json(with_contact.to_json()) == with_contact
    assert orjson.loads(with_contact.to_json())["contact"] == {
        "name": "Văn phòng HĐND-UBND xã", "phone": "0269 3845 123", "email": "vanphong@ialy.gialai.gov.vn"}
    phone_only = System(**{**with_contact.__dict__, "contact": systems.Contact(phone="0269 3845 123")})
    assert orjson.loads(phone_only.to_json())["contact"] == {"phone": "0269 3845 123"}
    assert System.from_json(phone_only.to_json()).contact == systems.Contact(None, "0269 3845 123", None)
    old = orjson.dumps({"id": "old", "role": "publisher", "communes": ["23734"], "kinds": ["dossier"],
                        "organ_ids": [], "key_hash": "h", "created_at": 1, "revoked_at": None})
    assert System.from_json(old).contact is None
    plain = _system("plain", KEY_PREFIX + "p" * 43)
    assert "contact" not in orjson.loads(plain.to_json()) and System.from_json(plain.to_json()) == plain
    assert plain.public()["contact"] is None and "key_hash" not in with_contact.public()
    assert with_contact.public()["contact"]["name"] == "Văn phòng HĐND-UBND xã"


def test_contact_parts_are_checked():
    """Blank parts are dropped (all blank: no contact); each bound is refused naming its field."""
    assert systems.Contact.of(" Văn phòng UBND xã ", "", None) == systems.Contact("Văn phòng UBND xã")
    assert systems.Contact.of("", "  ", None) is None
    assert systems.Contact.of(phone="+84 (269) 3845-123.1") == systems.Contact(phone="+84 (269) 3845-123.1")
    assert systems.Contact.of("x" * 120).name == "x" * 120
    bad = [({"name": "x" * 121}, "contact_name"), ({"name": "Văn\nphòng"}, "contact_name"),
           ({"phone": "0" * 21}, "contact_phone"), ({"phone": "0269 384 ext 5"}, "contact_phone"),
           ({"phone": "()+-"}, "contact_phone"), ({"email": "vanphong"}, "contact_email"),
           ({"email": "a@b"}, "contact_email"), ({"email": "a" * 60 + "@" + "b" * 60 + ".vn"}, "contact_email")]
    for kwargs, field in bad:
        with pytest.raises(Rejected) as info:
            systems.Contact.of(**kwargs)
        assert (info.value.reason, info.value.field) == ("invalid_value", field), kwargs


def test_add_stores_the_contact_and_revoke_keeps_it(settings):
    """The contact is on the topic with the registration, survives a revocation, and is not logged."""
    systems.add(settings, "ialy-motcua", ["23734"], ["dossier"], contact=OFFICE)
    assert systems.read(settings).get("ialy-motcua").contact == OFFICE
    systems.revoke(settings, "ialy-motcua")
    assert systems.read(settings).get("ialy-motcua").contact == OFFICE
    with pytest.raises(Rejected):  # a contact built without Contact.of is checked all the same
        systems.add(settings, "other", ["23728"], ["dossier"], contact=systems.Contact(phone="call me"))
    assert systems.read(settings).get("other") is None


def test_cli_add_with_contact(settings):
    """--contact-name/phone/email are stored and listed; a bad one is a one-line error and nothing is written."""
    added = _hub(settings, "add", "--id", "ialy-motcua", "--communes", "23734", "--kinds", "dossier",
                 "--contact-name", "Văn phòng HĐND-UBND xã", "--contact-phone", "0269 3845 123",
                 "--contact-email", "vanphong@ialy.gialai.gov.vn")
    assert added.returncode == 0, added.stderr
    assert "vanphong@" not in added.stderr and "3845" not in added.stderr  # not logged
    [listed] = [orjson.loads(line) for line in _hub(settings, "list", "--json").stdout.splitlines()]
    assert listed["contact"] == {"name": "Văn phòng HĐND-UBND xã", "phone": "0269 3845 123",
                                 "email": "vanphong@ialy.gialai.gov.vn"}
    table = _hub(settings, "list").stdout
    assert "Văn phòng HĐND-UBND xã / 0269 3845 123 / vanphong@ialy.gialai.gov.vn" in table
    bad = _hub(settings, "add", "--id", "chupah", "--communes", "23722", "--kinds", "dossier",
               "--contact-phone", "gọi văn phòng")
    assert bad.returncode == 2 and "contact phone must be" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert systems.read(settings).get("chupah") is None
