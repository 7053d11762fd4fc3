"""Consistency check of a delivery: what was stored (acknowledged) against what a topic holds.

Events belong to ordering groups (a commune); within a group the publisher stored them in one
order. A correct at-least-once delivery loses nothing, delivers each event's first copy in that
order, and may deliver copies again — a resend restarts from an event already delivered, so a
copy is always of an event at or before the furthest one delivered so far. Anything else (an
event delivered before an earlier one of its group was) is an order violation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Report:
    stored: int
    delivered: int  # records, copies included
    lost: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # delivered but never stored
    out_of_order: list[str] = field(default_factory=list)
    duplicates: int = 0  # copies beyond the first

    @property
    def ok(self) -> bool:
        return not (self.lost or self.unexpected or self.out_of_order)

    def line(self) -> str:
        return (f"stored {self.stored}, delivered {self.delivered}: lost {len(self.lost)}, duplicated "
                f"{self.duplicates}, out of order {len(self.out_of_order)}, unexpected {len(self.unexpected)}")


def check(stored: dict[str, list[str]], delivered: list[tuple[str, str]]) -> Report:
    """``stored``: group -> event ids in stored order; ``delivered``: (group, event id) in delivery order."""
    position = {(g, eid): i for g, ids in stored.items() for i, eid in enumerate(ids)}
    report = Report(stored=len(position), delivered=len(delivered))
    furthest: Counter = Counter()  # group -> 1 + position of the furthest event delivered so far
    seen: set[tuple[str, str]] = set()
    for group, eid in delivered:
        pos = position.get((group, eid))
        if pos is None:
            report.unexpected.append(eid)
        elif (group, eid) in seen:
            report.duplicates += 1
        elif pos != furthest[group]:
            report.out_of_order.append(eid)
            seen.add((group, eid))
            furthest[group] = max(furthest[group], pos + 1)
        else:
            seen.add((group, eid))
            furthest[group] = pos + 1
    report.lost = [eid for (g, eid) in position if (g, eid) not in seen]
    return report
