"""structlog set-up: one JSON line per decision on stdout, in every process.

Shared keys (contract): ``event``, ``level``, ``timestamp`` and, where known, ``trace_id``,
``source_system``, ``commune_code``, ``kind``, ``event_id``, ``topic``, ``partition``,
``offset``, ``reason``. Libraries that log through stdlib ``logging`` (faust, aiokafka,
kafka-python, uvicorn) are rendered as the same JSON lines.
"""

from __future__ import annotations

import logging
import sys

import orjson
import structlog

_SECRET_KEYS = frozenset({"key", "api_key", "authorization", "password", "secret", "pseudonym_key"})


def _drop_secrets(_logger: object, _name: str, event_dict: dict) -> dict:
    # A safety net: callers must not pass secrets, but if one slips in it is never printed.
    for k in _SECRET_KEYS.intersection(event_dict):
        event_dict[k] = "[redacted]"
    return event_dict


def _dumps(obj: object, default: object = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` (or ``sys.stderr``) is at the time of the record.

    Test runners and embedding tools swap the standard streams; a handler bound to the old
    object would write to a closed file from background threads (Kafka clients) later on.
    """

    def __init__(self, use_stderr: bool = False):
        super().__init__()
        self._use_stderr = use_stderr

    @property
    def stream(self):
        return sys.stderr if self._use_stderr else sys.stdout

    @stream.setter
    def stream(self, _value) -> None:  # StreamHandler.__init__ assigns it
        pass


def configure(level: str = "INFO", stream=None) -> None:
    """Route structlog and stdlib logging to JSON lines on ``stream`` (stdout)."""
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
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
    handler = _StdoutHandler(use_stderr=stream is sys.stderr) if stream in (None, sys.stdout, sys.stderr) \
        else logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries are chatty at INFO (every connection, every rebalance step).
    for noisy in ("kafka", "aiokafka", "faust", "mode", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get(name: str = "hub") -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
