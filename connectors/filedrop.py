"""File drop: communes that only have spreadsheets or export folders drop files in a directory.

``*.csv`` dossier exports and target report sheets (one indicator per row: the header names a
``Mã chỉ tiêu`` / ``indicator_code`` column) become one ingest record per row (header line + that
row, format ``csv``, kind ``dossier`` or ``target``); ``*.json`` DVCQG exports one record per
object (format ``dvcqg-json``); ``*.xml`` one document record, its dialect sniffed from the root's
namespace (``edxml`` / ``edoc-go``).

Each processed file moves to ``DIR/done/`` once Kafka acknowledged all of its records, or to
``DIR/rejected/`` next to a ``<name>.reason.txt``. Publishing each event once takes two
guards: a ledger (``DIR/.hub-import-ledger``, SQLite) of content hashes of files already
published, so a re-run or a re-dropped copy publishes nothing; and deterministic source event
ids (each record's natural key, :mod:`connectors.source_ids`), so that even if the ledger is
lost, the process dies between the acknowledgement and the ledger write, or a commune exports
the same dossier change again in another file, the worker deduplicates the resend.

A file is one point of entry: its events share one trace id (new per file, or the caller's),
logged on ``import_file_done`` and carried in each record's ``hub.trace_id`` header. The directory
itself is the durable queue: a file stays until acknowledged (a broker outage only delays it).

A drop folder is written by others, so nothing in it is trusted: only regular files with a single
name are read, opened with ``O_NOFOLLOW`` (a symbolic link, a hard link to a file elsewhere, a FIFO or
a device is moved to ``rejected/`` unread, reason ``unsafe_file``); ``done/``, ``rejected/`` and the
ledger must be what they look like (a real folder, a real file) or the run stops; what the import
writes is this user's only (folders 0700, files 0600); and a reason file or a log line names the
rule a file broke, never its content.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from connectors import publisher as sdk
from connectors import source_ids
from hub import log
from hub.errors import Rejected, TransientError
from hub.normalize import fields
from hub.normalize.dialects.csv_rows import kind_of_header
from hub.settings import Settings

NAMESPACES = {"http://www.mic.gov.vn/TBT/QCVN_102_2016": "edxml", "http://www.go.vn/eDoc": "edoc-go"}
# Header names (lower case, no diacritics, no separators) of the commune column.
_COMMUNE = {"maxa", "communecode", "maxaphuong", "madonvihanhchinh"}
_SETTLE_S = 2.0  # in watch mode a file modified more recently may still be being copied in
LEDGER = ".hub-import-ledger"
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a FIFO must not hang the run


class UnsafeFolder(OSError):
    """A folder or file the import writes is a symbolic link or not what it should be: nothing is imported."""


class FileRejected(Exception):
    """The file as a whole cannot be imported; ``reason`` is a code from hub.errors.REASONS."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Record:
    kind: str
    format: str
    payload: bytes
    source_event_id: str
    commune: str | None = None


@dataclass
class Summary:
    files_done: int = 0
    files_skipped: int = 0  # already in the ledger (re-run or re-dropped copy)
    files_rejected: int = 0
    files_waiting: int = 0  # left in place: Kafka unreachable, retried next time
    events: int = 0
    rejected: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"files_done": self.files_done, "files_skipped": self.files_skipped,
                "files_rejected": self.files_rejected, "files_waiting": self.files_waiting,
                "events": self.events, "rejected": self.rejected}


def _text(raw: bytes) -> str:
    try:
        return fields.utf8(raw, "the file")
    except Rejected as exc:
        raise FileRejected(exc.reason, exc.message) from None


def csv_records(raw: bytes) -> list[Record]:
    text = _text(raw)
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)  # vendors export with ',' or ';' (Excel, vi-VN locale) or tabs
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise FileRejected("malformed_csv", "the file is empty")
    header = rows[0]
    folded = [source_ids.fold(c) for c in header]
    kind = kind_of_header(header)  # the hub's own header names decide: one list, no drift
    if kind is None:
        # the count, never the names: the first line of a file is its content (reason files and logs)
        raise FileRejected("malformed_csv", "no known header: the first line must name the dossier code "
                           "column (MaHoSo) or, for a target report, the indicator code column (Mã chỉ tiêu); "
                           f"its {len(header)} column(s) include neither")
    if len(rows) == 1:
        raise FileRejected("malformed_csv", "the file has a header line but no rows")
    commune_col = next((i for i, c in enumerate(folded) if c in _COMMUNE), None)
    out = []
    for row in rows[1:]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        writer.writerow(row)
        payload = buf.getvalue().encode()
        commune = row[commune_col].strip() if commune_col is not None and commune_col < len(row) else None
        out.append(Record(kind, "csv", payload, source_ids.derive("csv", payload), commune or None))
    return out


def json_records(raw: bytes) -> list[Record]:
    text = _text(raw)
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise FileRejected("malformed_json", f"not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if isinstance(doc, dict):
        for wrapper in ("data", "HoSo"):  # DVCQG exports wrap the list
            if isinstance(doc.get(wrapper), list):
                doc = doc[wrapper]
                break
    items = doc if isinstance(doc, list) else [doc]
    if not items or not all(isinstance(x, dict) for x in items):
        raise FileRejected("malformed_json", "expected a JSON object or a non-empty array of objects")
    out = []
    for obj in items:
        payload = orjson.dumps(obj)
        commune = obj.get("MaXa")
        out.append(Record("dossier", "dvcqg-json", payload, source_ids.derive("dvcqg-json", payload),
                          str(commune).strip() if commune else None))
    return out


def xml_records(raw: bytes) -> list[Record]:
    try:
        root = fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise FileRejected("malformed_xml", f"forbidden XML construct: {type(exc).__name__}") from None
    except Exception as exc:  # noqa: BLE001 - expat raises ParseError, but also ValueError on odd encodings
        line, column = getattr(exc, "position", (None, None))
        where = f" (line {line}, column {column})" if line is not None else ""
        raise FileRejected("malformed_xml", f"not well-formed XML{where}") from None
    ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    fmt = NAMESPACES.get(ns)
    if fmt is None:
        raise FileRejected("unknown_document_root", "the root element is in neither the edXML nor the eDoc "
                           f"namespace ({' or '.join(NAMESPACES)})")
    return [Record("document", fmt, raw, source_ids.derive(fmt, raw))]


READERS = {".csv": csv_records, ".json": json_records, ".xml": xml_records}


class Ledger:
    """Content hashes of files already published from this folder."""

    def __init__(self, folder: Path):
        for name in (LEDGER, LEDGER + "-wal", LEDGER + "-shm", LEDGER + "-journal"):  # SQLite follows links
            _private_file(folder / name, create=name == LEDGER)
        self._db = sqlite3.connect(folder / LEDGER, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS files (sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, "
                         "events INTEGER NOT NULL, done_at REAL NOT NULL)")

    def seen(self, digest: str) -> bool:
        return self._db.execute("SELECT 1 FROM files WHERE sha256 = ?", (digest,)).fetchone() is not None

    def add(self, digest: str, name: str, events: int) -> None:
        self._db.execute("INSERT OR IGNORE INTO files VALUES (?, ?, ?, ?)",
                         (digest, name, events, time.time()))

    def close(self) -> None:
        self._db.close()


def _private_dir(folder: Path) -> Path:
    """``folder`` as a real directory of this user's only (made 0700, or narrowed to it)."""
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafeFolder(f"{folder} is a symbolic link or not a folder: refusing to write there") from None
        if st.st_mode & 0o077:
            os.chmod(folder, 0o700)
    return folder


def _private_file(path: Path, *, create: bool) -> None:
    """Refuse ``path`` unless it is absent or a regular file; make it 0600 (creating it when asked)."""
    flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:
        return
    except OSError as exc:  # ELOOP: a symbolic link; ENXIO, EISDIR: a FIFO, a folder
        raise UnsafeFolder(f"{path} is a symbolic link or not a regular file: refusing to write it") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafeFolder(f"{path} is not a regular file: refusing to write it")
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _read(path: Path) -> bytes:
    """The bytes of a regular file with one name, never through a link. FileRejected otherwise."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if path.is_symlink():
            raise FileRejected("unsafe_file", "a symbolic link: only regular files of the drop folder "
                               "are imported") from None
        raise FileRejected("unsafe_file", f"cannot open the file: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRejected("unsafe_file", "not a regular file (a FIFO, socket or device)")
        if st.st_nlink > 1:
            # a hard link may name a file outside the folder that the dropper could not read
            raise FileRejected("unsafe_file", f"the file has {st.st_nlink} names (hard links): copy it in instead")
        return f.read()


def _move(path: Path, folder: Path) -> Path:
    _private_dir(folder)
    target = folder / path.name
    if os.path.lexists(target):  # a re-dropped copy: keep both
        target = folder / f"{path.stem}.{time.strftime('%Y%m%dT%H%M%S')}.{os.getpid()}{path.suffix}"
    return path.replace(target)  # rename(2): a link is moved itself, never what it points to


def _reject(path: Path, folder: Path, reason: str, message: str) -> None:
    moved = _move(path, folder / "rejected")
    note = moved.with_name(moved.name + ".reason.txt")
    if os.path.lexists(note):
        note.unlink()  # unlinks a planted link itself, not its target
    fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"{reason}: {message}\n")


class FileDrop:
    """Imports one folder for one publishing system; ``publisher`` is a connectors.Publisher."""

    def __init__(self, folder: str | os.PathLike, system: str, settings: Settings | None = None, *,
                 publisher=None, trace_id: str | None = None):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"{self.folder} is not a directory")
        self.system = system
        # A caller's trace id covers every file of this drop; otherwise each file starts its own trace.
        self.trace_id = sdk.trace_id(trace_id) if trace_id else None
        self.settings = settings or Settings.from_env()
        self._publisher = publisher
        self._log = log.get().bind(source_system=system)

    def publisher(self):
        if self._publisher is None:
            from kafka.errors import KafkaError

            try:
                self._publisher = sdk.Publisher(self.system, self.settings, bootstrap_timeout_ms=10_000)
            except KafkaError as exc:
                raise TransientError(f"cannot reach Kafka at {self.settings.kafka_bootstrap}: {exc}") from exc
        return self._publisher

    def candidates(self, settle_s: float = 0.0) -> list[Path]:
        """Every entry but folders (links, FIFOs and the like are candidates: they are refused, not
        skipped in silence), by modification time of the entry itself (lstat)."""
        now = time.time()
        found = []
        with os.scandir(self.folder) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False) or e.name.startswith(".") \
                        or e.name.endswith((".part", ".tmp", ".crdownload")):
                    continue
                mtime = e.stat(follow_symlinks=False).st_mtime
                if now - mtime >= settle_s:
                    found.append((mtime, e.name))
        return [self.folder / name for _mtime, name in sorted(found)]

    def run_once(self, settle_s: float = 0.0) -> Summary:
        """Import every file currently in the folder."""
        summary = Summary()
        ledger = Ledger(self.folder)
        try:
            pending = self.candidates(settle_s)
            for i, path in enumerate(pending):
                trace = self.trace_id or sdk.trace_id()
                try:
                    self._one(path, ledger, summary, trace)
                except TransientError as exc:
                    # Kafka is unreachable: every remaining file waits in place for the next run.
                    summary.files_waiting += len(pending) - i
                    self._log.warning("import_retry", file=path.name, waiting=len(pending) - i, trace_id=trace,
                                      error=str(exc)[:300])
                    break
        finally:
            ledger.close()
        self._log.info("import_summary", folder=str(self.folder), **summary.as_dict())
        return summary

    def _one(self, path: Path, ledger: Ledger, summary: Summary, trace: str) -> None:
        logger = self._log.bind(trace_id=trace, file=path.name)
        try:
            raw = _read(path)
        except FileRejected as exc:
            self._rejected(path, summary, logger, exc.reason, exc.message)
            return
        except OSError as exc:
            self._rejected(path, summary, logger, "unsafe_file", f"cannot read the file: {exc.strerror}")
            return
        digest = hashlib.sha256(raw).hexdigest()
        if ledger.seen(digest):
            _move(path, self.folder / "done")
            summary.files_skipped += 1
            logger.info("import_file_skipped", reason="duplicate", sha256=digest[:16])
            return
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            self._rejected(path, summary, logger, "unknown_format",
                           f"unsupported file type {path.suffix or '(none)'}; drop *.csv (dossier or target rows), "
                           "*.json (DVCQG dossiers) or *.xml (edXML/eDoc)")
            return
        try:
            records = reader(raw)
        except FileRejected as exc:
            self._rejected(path, summary, logger, exc.reason, exc.message)
            return
        big = [r for r in records if len(r.payload) > self.settings.max_payload_bytes]
        if big:
            self._rejected(path, summary, logger, "payload_too_large", f"{len(big)} record(s) exceed "
                           f"HUB_MAX_PAYLOAD_BYTES={self.settings.max_payload_bytes}")
            return
        self._publish(records, trace)
        ledger.add(digest, path.name, len(records))
        _move(path, self.folder / "done")
        summary.files_done += 1
        summary.events += len(records)
        logger.info("import_file_done", events=len(records), format=records[0].format, kind=records[0].kind)

    def _publish(self, records: list[Record], trace: str) -> None:
        from kafka.errors import KafkaError

        pub = self.publisher()
        queued = [pub.send_async(r.kind, r.payload, format=r.format, commune=r.commune, event_id=r.source_event_id,
                                 trace_id=trace) for r in records]
        try:
            for q in queued:
                q.future.get(timeout=pub.timeout_s)
        except KafkaError as exc:
            raise TransientError(f"Kafka did not acknowledge every record: {exc}") from exc

    def _rejected(self, path: Path, summary: Summary, logger, reason: str, message: str) -> None:
        _reject(path, self.folder, reason, message)
        summary.files_rejected += 1
        summary.rejected[path.name] = reason
        logger.warning("import_file_rejected", reason=reason, message=message)

    def watch(self, interval_s: float = 5.0, stop=None) -> None:
        """Poll until ``stop`` (a threading.Event) is set or Ctrl-C."""
        interval_s = min(max(interval_s, 0.2), 300.0)
        while stop is None or not stop.is_set():
            self.run_once(settle_s=_SETTLE_S)
            if stop is not None:
                stop.wait(interval_s)
            else:
                time.sleep(interval_s)

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None
