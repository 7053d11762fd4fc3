"""A drop folder is written by others: `hub import` reads only regular files with one name, never
through a link, writes nothing others can read, and never copies file content into a reason file or
a log line (hub issue 21 item 11). Pure filesystem: no broker (the publisher is a stand-in)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT

from connectors import filedrop
from hub.settings import Settings

SECRET = "CCCD 012345678901;Nguyen Van A"  # what the first line of a private file may hold
GOOD_CSV = "MaHoSo;TrangThaiHoSo;MaXa\nH52.23734-250801-0001;2;23734\n"


class _Publisher:
    """Stands in for connectors.Publisher: records what would have been sent."""

    timeout_s = 1.0

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_async(self, kind: str, payload: bytes, **_kw):
        self.sent.append(payload)
        return SimpleNamespace(future=SimpleNamespace(get=lambda timeout: None))

    def close(self) -> None:
        pass


def _run(folder: Path) -> tuple[filedrop.Summary, _Publisher]:
    pub = _Publisher()
    drop = filedrop.FileDrop(folder, "drop-test", Settings.from_env(env={}), publisher=pub)
    try:
        return drop.run_once(), pub
    finally:
        drop.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def places(tmp_path):
    """A drop folder and, beside it, a private file and a folder that are not the dropper's to give."""
    drop, outside = tmp_path / "drop", tmp_path / "private"
    drop.mkdir()
    outside.mkdir()
    secret = outside / "citizens.csv"
    secret.write_text(SECRET + "\n1;2\n", encoding="utf-8")
    secret.chmod(0o600)
    return drop, outside, secret


def test_a_symbolic_link_is_refused_unread_and_its_target_stays(places):
    """export.csv -> ../private/citizens.csv: nothing published, the link (not the file) moves to rejected/,
    the reason names the rule and not one byte of the file."""
    drop, _outside, secret = places
    (drop / "export.csv").symlink_to(secret)
    summary, pub = _run(drop)
    assert summary.rejected == {"export.csv": "unsafe_file"} and pub.sent == [] and summary.events == 0
    assert secret.read_text(encoding="utf-8") == SECRET + "\n1;2\n"  # still there, unchanged
    assert (drop / "rejected" / "export.csv").is_symlink()
    reason = (drop / "rejected" / "export.csv.reason.txt").read_text(encoding="utf-8")
    assert reason.startswith("unsafe_file: a symbolic link") and "012345678901" not in reason


def test_links_to_folders_dangling_links_and_fifos_are_refused(places):
    """A link to a folder, a link to nothing and a FIFO (which would block a read) are each refused."""
    drop, outside, _secret = places
    (drop / "folder.json").symlink_to(outside, target_is_directory=True)
    (drop / "gone.xml").symlink_to(outside / "nothing-here.xml")
    os.mkfifo(drop / "pipe.csv")
    summary, pub = _run(drop)
    assert summary.rejected == {"folder.json": "unsafe_file", "gone.xml": "unsafe_file", "pipe.csv": "unsafe_file"}
    assert pub.sent == [] and sorted(p.name for p in outside.iterdir()) == ["citizens.csv"]


def test_a_hard_link_to_a_file_elsewhere_is_refused(places):
    """A second name of a file (st_nlink 2) could be a file the dropper may not read: refused, the file stays."""
    drop, _outside, secret = places
    os.link(secret, drop / "copy.csv")
    summary, pub = _run(drop)
    assert summary.rejected == {"copy.csv": "unsafe_file"} and pub.sent == []
    reason = (drop / "rejected" / "copy.csv.reason.txt").read_text(encoding="utf-8")
    assert "2 names (hard links)" in reason and "012345678901" not in reason
    assert secret.read_text(encoding="utf-8").startswith(SECRET)


@pytest.mark.parametrize("name,content,reason", [
    ("header.csv", SECRET + "\n1;2\n", "malformed_csv"),
    ("root.xml", '<CCCD_012345678901 xmlns="urn:012345678901:NguyenVanA"/>', "unknown_document_root"),
    ("broken.xml", "<a>012345678901 Nguyen Van A</b>", "malformed_xml"),
    ("broken.json", '{"CCCD": "012345678901", "ten": Nguyen Van A}', "malformed_json"),
])
def test_reasons_and_logs_name_the_rule_never_the_content(tmp_path, capsys, name, content, reason):
    """The CSV header, the XML root and namespace, the text near a JSON or XML error: none is echoed."""
    (tmp_path / name).write_text(content, encoding="utf-8")
    summary, _pub = _run(tmp_path)
    assert summary.rejected == {name: reason}
    text = (tmp_path / "rejected" / f"{name}.reason.txt").read_text(encoding="utf-8")
    logged = capsys.readouterr().out
    assert text.startswith(f"{reason}: ") and "import_file_rejected" in logged
    for value in ("012345678901", "Nguyen", "CCCD"):
        assert value not in text and value not in logged


def test_what_the_import_writes_is_private(tmp_path):
    """done/ and rejected/ 0700 (an existing 0755 done/ narrowed), reason files and the ledger 0600."""
    (tmp_path / "done").mkdir(mode=0o755)
    os.chmod(tmp_path / "done", 0o755)
    (tmp_path / "ok.csv").write_text(GOOD_CSV, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    summary, pub = _run(tmp_path)
    assert summary.files_done == 1 and summary.rejected == {"notes.txt": "unknown_format"} and len(pub.sent) == 1
    assert _mode(tmp_path / "done") == 0o700 and _mode(tmp_path / "rejected") == 0o700
    assert _mode(tmp_path / "rejected" / "notes.txt.reason.txt") == 0o600
    ledger_files = [p for p in tmp_path.iterdir() if p.name.startswith(filedrop.LEDGER)]
    assert ledger_files and {_mode(p) for p in ledger_files} == {0o600}


@pytest.mark.parametrize("planted", ["rejected", filedrop.LEDGER, filedrop.LEDGER + "-wal"])
def test_a_planted_link_where_the_import_writes_stops_the_run(places, planted):
    """rejected/ linked to another folder, or the ledger (or its WAL) linked to another file: the run stops
    before writing anything through the link."""
    drop, outside, secret = places
    target = outside if planted == "rejected" else secret
    (drop / planted).symlink_to(target, target_is_directory=planted == "rejected")
    (drop / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(filedrop.UnsafeFolder, match="symbolic link"):
        _run(drop)
    assert sorted(p.name for p in outside.iterdir()) == ["citizens.csv"]
    assert secret.read_text(encoding="utf-8") == SECRET + "\n1;2\n" and _mode(secret) == 0o600


def _hub_import(folder: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_KAFKA_BOOTSTRAP"] = "127.0.0.1:1"  # never reached: no file here gets as far as publishing
    return subprocess.run([sys.executable, "-m", "hub", "import", str(folder), "--system", "drop-test"],
                          env=env, cwd=ROOT, capture_output=True, timeout=120)


def test_the_command_writes_under_umask_077_and_refuses_a_planted_link(places):
    """`hub import` with a permissive umask still writes 0700 / 0600; a linked rejected/ is exit 2 with a message."""
    drop, outside, _secret = places
    (drop / "notes.txt").write_text("hello", encoding="utf-8")
    old = os.umask(0o000)
    try:
        proc = _hub_import(drop)
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert _mode(drop / "rejected") == 0o700 and _mode(drop / "rejected" / "notes.txt.reason.txt") == 0o600
    assert {_mode(p) for p in drop.iterdir() if p.name.startswith(filedrop.LEDGER)} == {0o600}

    again = outside.parent / "again"
    again.mkdir()
    (again / "rejected").symlink_to(outside, target_is_directory=True)
    (again / "notes.txt").write_text("hello", encoding="utf-8")
    proc = _hub_import(again)
    assert proc.returncode == 2 and b"symbolic link" in proc.stderr
    assert sorted(p.name for p in outside.iterdir()) == ["citizens.csv"]
