"""The time the analytics take as "now": the system clock, or a fixed instant for tests and replays.

``HUB_CLOCK`` empty (the default) is the system clock. An ISO 8601 instant
(``2025-12-10T05:00:00Z``) freezes "now" at that instant for every analytics decision — which
periods are current, which deadlines have passed, which systems are silent — so that a dataset of
last year can be checked against numbers computed by hand. Never set it in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from hub.errors import ConfigError


def from_setting(value: str) -> Callable[[], int]:
    """A function returning "now" in UTC milliseconds."""
    if not value.strip():
        return lambda: int(time.time() * 1000)
    text = value.strip()
    try:
        instant = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise ConfigError(f"HUB_CLOCK={value[:40]!r} is not an ISO 8601 instant (e.g. 2025-12-10T05:00:00Z)") \
            from None
    if instant.tzinfo is None:
        raise ConfigError("HUB_CLOCK needs an offset or Z (an instant, not a local time)")
    fixed = int(instant.timestamp() * 1000)
    return lambda: fixed
