"""structlog set-up: one JSON line per decision on stdout, in every process.

Shared keys (contract): ``event``, ``level``, ``timestamp`` and, where known, ``trace_id``,
``source_system``, ``commune_code``, ``kind``, ``event_id``, ``topic``, ``partition``,
``offset``, ``reason``.

The hub's own lines take structlog's fast path: a filtering bound logger (calls below the
level cost one attribute lookup and return), an orjson renderer and a logger that writes bytes.
Per-event lines of the hot path are ``debug``, so at ``INFO`` they cost next to nothing.
Libraries that log through stdlib ``logging`` (faust, aiokafka, kafka-python, uvicorn) go
through a formatter that renders the same JSON lines to the same stream.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

_SECRET_KEYS = frozenset({"key", "api_key", "authorization", "password", "secret", "pseudonym_key"})
_WRITE_LOCK = threading.Lock()  # one line, one write: lines of different threads never interleave


def _drop_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    # A safety net: callers must not pass secrets, but if one slips in it is never printed.
    for k in _SECRET_KEYS.intersection(event_dict):
        event_dict[k] = "[redacted]"
    return event_dict


def _dumps(obj: object, default: Callable[[Any], Any] | None = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def _render(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> bytes:
    return orjson.dumps(event_dict, default=str)


def _stream(use_stderr: bool):
    # Looked up at write time: test runners and embedding tools swap the standard streams, and a
    # logger bound to the old object would write to a closed file from background threads later.
    return sys.stderr if use_stderr else sys.stdout


def _write_line(stream, line: bytes) -> None:
    buffer = getattr(stream, "buffer", None)
    with _WRITE_LOCK:
        if buffer is not None:
            stream.flush()  # text written before through the wrapper must come first
            buffer.write(line)
            buffer.flush()
        else:
            stream.write(line.decode())
            stream.flush()


class _LineLogger:
    """structlog's final logger: writes each rendered event as one line to stdout (or stderr)."""

    def __init__(self, stream=None, use_stderr: bool = False):
        self._fixed = stream
        self._use_stderr = use_stderr

    def msg(self, message: bytes) -> None:
        _write_line(self._fixed or _stream(self._use_stderr), message + b"\n")

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


class _StdoutHandler(logging.StreamHandler):
    """stdlib handler for library logs, writing through the same lock and stream as ``_LineLogger``."""

    def __init__(self, stream=None, use_stderr: bool = False):
        super().__init__()
        self._fixed = stream
        self._use_stderr = use_stderr

    @property
    def stream(self):
        return self._fixed or _stream(self._use_stderr)

    @stream.setter
    def stream(self, _value) -> None:  # StreamHandler.__init__ assigns it
        pass

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _write_line(self.stream, (self.format(record) + "\n").encode())
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


def configure(level: str = "INFO", stream=None) -> None:
    """Route structlog and stdlib logging to JSON lines on ``stream`` (stdout by default)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    use_stderr = stream is sys.stderr
    fixed = None if stream in (None, sys.stdout, sys.stderr) else stream
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, _render],
        logger_factory=lambda *_args: _LineLogger(fixed, use_stderr),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
    )
    handler = _StdoutHandler(fixed, use_stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # Client libraries are chatty at INFO (every connection, every rebalance step).
    for noisy in ("kafka", "aiokafka", "faust", "mode", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, numeric))
    # kafka-python warns on every SCRAM login over SASL_PLAINTEXT, but SCRAM is challenge-response:
    # the password never crosses the wire (README, "Securing a deployment", says when to add TLS).
    logging.getLogger("kafka.net.sasl.scram").setLevel(max(logging.ERROR, numeric))


def get(name: str = "hub"):
    """The hub's logger (``name`` is kept for readers; the lines do not carry it)."""
    return structlog.get_logger(name)
