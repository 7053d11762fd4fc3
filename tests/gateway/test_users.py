"""Named accounts (hub.admin.users): argon2id hashing, the login limiter, and ``hub users`` on the real broker."""

from __future__ import annotations

import io

import orjson
import pytest

from hub.admin import users
from hub.contract import topics
from hub.errors import Rejected
from hub.gateway.auth import LoginLimiter
from hub.testing import read_topic

PASSWORD = "mat-khau-dung-1"  # 15 characters: above the 10-character minimum
OTHER = "mat-khau-moi-22"


def _user(password_hash: str, *, disabled_at: int | None = None) -> users.User:
    return users.User("an", users.PROVINCE, None, password_hash, 0, 0, disabled_at)


def test_a_password_is_stored_as_an_argon2id_hash_that_verifies_only_it():
    stored = users.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert users.verify(_user(stored), PASSWORD) is True
    assert users.verify(_user(stored), OTHER) is False
    assert users.verify(None, PASSWORD) is False  # an unknown name
    assert users.verify(_user(stored, disabled_at=1), PASSWORD) is False  # a disabled account
    assert users.hash_password(PASSWORD) != stored  # a new salt each time: a reset changes the fingerprint


def test_passwords_shorter_than_ten_characters_are_refused():
    with pytest.raises(Rejected) as refused:
        users.hash_password("123456789")  # 9 characters
    assert refused.value.reason == "invalid_value"


def test_the_limiter_refuses_at_the_limit_until_the_oldest_failure_leaves_the_window():
    """3 failures allowed per 60 s: failures at t=0, 10, 20 -> refused at t=30 for 31 s (0 + 60 - 30, rounded up
    to the next second); at t=61 the first has left the window."""
    limiter = LoginLimiter(3, 60)
    keys = ("user:an", "addr:10.0.0.1")
    for t in (0.0, 10.0, 20.0):
        assert limiter.retry_after(keys, now=t) == 0
        limiter.failed(keys, now=t)
    assert limiter.retry_after(keys, now=30.0) == 31
    assert limiter.retry_after(("user:binh", "addr:10.0.0.2"), now=30.0) == 0  # someone else, elsewhere
    assert limiter.retry_after(("user:binh", "addr:10.0.0.1"), now=30.0) == 31  # same address
    assert limiter.retry_after(keys, now=61.0) == 0
    limiter.succeeded("user:an")
    assert limiter.retry_after(("user:an",), now=30.0) == 0


def test_the_cli_has_no_option_that_takes_a_password_in_argv():
    from hub.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["users", "add", "--name", "an", "--role", "province", "--password", PASSWORD])
    with pytest.raises(SystemExit):  # --password-stdin is required
        build_parser().parse_args(["users", "reset", "--name", "an"])


def _stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_users_add_list_disable_reset(make_settings, cli, monkeypatch):
    s = make_settings()
    _stdin(monkeypatch, PASSWORD + "\n")
    rc, out, err = cli(s, "users", "add", "--name", "xa.ialy", "--role", "commune", "--commune", "23734",
                       "--password-stdin")
    assert rc == 0 and "xa.ialy" in err
    _stdin(monkeypatch, PASSWORD + "\n")
    assert cli(s, "users", "add", "--name", "tinh", "--role", "province", "--password-stdin")[0] == 0
    _stdin(monkeypatch, PASSWORD + "\n")
    rc, _out, err = cli(s, "users", "add", "--name", "tinh", "--role", "province", "--password-stdin")
    assert rc == 2 and "exists already" in err
    _stdin(monkeypatch, PASSWORD + "\n")
    rc, _out, err = cli(s, "users", "add", "--name", "xa2", "--role", "commune", "--password-stdin")
    assert rc == 2 and "--commune" in err

    rc, out, _err = cli(s, "users", "list", "--json")
    listed = [orjson.loads(line) for line in out.splitlines()]
    assert [(u["name"], u["role"], u["commune"], u["disabled_at"]) for u in listed] == [
        ("tinh", "province", None, None), ("xa.ialy", "commune", "23734", None)]
    assert "argon2" not in out and PASSWORD not in out

    assert cli(s, "users", "disable", "--name", "xa.ialy")[0] == 0
    after = users.read(s).get("xa.ialy")
    assert after is not None and after.disabled_at is not None
    assert not users.verify(after, PASSWORD)

    before_hash = after.password_hash
    _stdin(monkeypatch, OTHER + "\n")
    assert cli(s, "users", "reset", "--name", "xa.ialy", "--password-stdin")[0] == 0
    reset = users.read(s).get("xa.ialy")
    assert reset.active and reset.password_hash != before_hash
    assert users.verify(reset, OTHER) and not users.verify(reset, PASSWORD)

    records = read_topic(s, s.topic(topics.USERS))
    assert len(records) == 4  # add, add, disable, reset (the refused adds wrote nothing)
    assert all(orjson.loads(r.value)["password_hash"].startswith("$argon2id$") for r in records)
    assert all(PASSWORD.encode() not in r.value and OTHER.encode() not in r.value for r in records)
    rc, out, _err = cli(s, "users", "list")
    assert rc == 0 and out.splitlines()[0].split() == ["NAME", "ROLE", "COMMUNE", "STATE", "CREATED", "PASSWORD",
                                                        "SET", "DISABLED"]
