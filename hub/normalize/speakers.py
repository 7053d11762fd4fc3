"""Who may speak as an organ: a system may only send as the OrganIds registered to it (issue 21 item 10).

A document record is the act of its sender (``from_organ_id``; a status's reporter) when the organ
directory places that organ at the record's own commune (a commune's own report or status) or outside
any commune (a provincial body: a directive, the province's acknowledgement). Such a record is accepted
only from a system that registered that OrganId (``hub systems add --organ-id``); anything else is
``organ_not_in_scope``. A system registered without OrganIds may send as no organ.

Not the sender's act, and so open to the receiving commune's system: a record for commune H about what
another commune C sent or answered (H files what it received), and a record whose sender the directory
does not know (a ministry's letter, a citizen's petition). They only ever concern H, which the scope
check ties to H's own systems, and directive reach never counts them as the province's directive.
"""

from __future__ import annotations

from hub.errors import Rejected
from hub.normalize.context import Context, Envelope
from hub.normalize.personal_data import STATE_ORGAN_ID


def shown(organ_id: str) -> str:
    """An OrganId for a message: electronic ids are public; anything else is not echoed."""
    return organ_id if STATE_ORGAN_ID.match(organ_id) else "(not an electronic organ id)"


def own(organ: str, env: Envelope, ctx: Context, field: str) -> None:
    """``organ`` speaks in this record: only a system that registered it may publish it."""
    if ctx.scope_of is None:
        return  # no systems snapshot (pure mapping tests): nothing to check against
    scope = ctx.scope_of(env.source_system)
    if scope is None or env.kind not in scope.kinds:
        return  # validate.check_commune answers unknown_system / kind_not_allowed, the more basic refusals
    if organ.strip() not in scope.organ_ids:
        raise Rejected("organ_not_in_scope", f"{field} {shown(organ)} is not registered to system "
                       f"{env.source_system!r}: a system may only send as OrganIds registered to it "
                       "(`hub systems add --organ-id`)", stage="auth", field=field)


def check(rec: dict, env: Envelope, ctx: Context, field: str = "from_organ_id") -> None:
    """:func:`own` for a mapped document record, when the record is its sender's (reporter's) own act."""
    organ = rec.get("from_organ_id")
    code = ctx.organ_commune(organ)
    if organ is None or code is None:
        return  # outside the directory: the publisher files what it received
    commune = rec.get("commune_code")
    if len(code) == 5 and code.isdigit() and commune is not None and code != commune:
        return  # another commune's act, filed by this record's commune
    own(organ, env, ctx, field)
