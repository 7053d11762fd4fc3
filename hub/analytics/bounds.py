"""Size bounds on every string a derived row or state copies from a feed record.

The ingest side validates trace ids and identifiers now, but a deployment's committed state may
already hold what it once let through (a 450 KB trace id in a dossier's ``tr``): a KPI row naming
three of them is larger than a Kafka record may be, its transaction fails, and the processor
retries the same batch forever. So rows are bounded by construction, whatever the state holds:

- trace ids: kept only up to :data:`TRACE_MAX` characters (the ingest rule's length); a cut trace
  id would name a trace that does not exist, so a longer one is dropped, not cut;
- identifiers (document ids, codes, handler pseudonyms, organ ids, event ids, programs): cut at
  :data:`ID_MAX` characters;
- free text (indicator names, notes): cut at :data:`TEXT_MAX` characters.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

TRACE_MAX = 64
ID_MAX = 128
TEXT_MAX = 512
_MARK = "…"


def trace(value: Any) -> str | None:
    """``value`` when it is a trace id of at most TRACE_MAX characters, else None."""
    return value if isinstance(value, str) and 0 < len(value) <= TRACE_MAX else None


def traces(values: Iterable[Any], limit: int) -> list[str]:
    """The first ``limit`` distinct bounded trace ids of ``values``, in order."""
    out: list[str] = []
    for v in values:
        if trace(v) is not None and v not in out:
            out.append(v)
            if len(out) >= limit:
                break
    return out


def ident(value: Any, limit: int = ID_MAX) -> Any:
    """A string cut at ``limit`` characters (the cut marked with '…'); anything else unchanged."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit - 1] + _MARK
    return value


def text(value: Any) -> Any:
    return ident(value, TEXT_MAX)
