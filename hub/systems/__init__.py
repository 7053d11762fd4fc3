"""Publishing and reading systems: who may publish which events for which communes, who may read.

The list lives in the compacted, single-partition topic ``hub.systems.v1`` so that every gateway
and worker, on any machine, reads the same list without a shared disk or database. Record key =
system id; value = JSON ``{id, role, communes, kinds, organ_ids, key_hash, created_at,
revoked_at[, contact]}`` (records written before roles existed have no ``role``: they are publishers;
``contact`` — the commune's focal contact ``{name, phone, email}`` — is present only when registered). A
revocation rewrites the record with ``revoked_at`` set (never a tombstone), so compaction keeps
the fact that a system existed and when it was revoked.

Three parts, one job each, one module each behind this package's public names:

* :class:`SystemsSnapshot` (``_records``, with :class:`System`) — an immutable view (pure lookups:
  by id, by key hash, scope, organ directory). Readers take ``follower.snapshot`` and never wait:
  no lock, no I/O.
* :class:`SystemsFollower` (``_follower``, with :func:`read`) — reads the topic in a background
  thread (kafka-python, bounded timeouts) and swaps in a new snapshot after each change;
  ``refresh_now`` reads to the current end once, for callers that must see the latest (never call
  it on an event loop).
* :func:`add` / :func:`revoke` (``_admin``) — validate and write one record; they return once the
  broker acknowledged it.

Keys are ``hubk_`` + 256 random bits; only their SHA-256 is stored. A slow password hash
(bcrypt, scrypt) exists to protect low-entropy human passwords from offline guessing; a
256-bit random key cannot be guessed, so a fast hash is safe and keeps authentication cheap.
"""

from hub.systems._admin import add, revoke, validate
from hub.systems._follower import SystemsFollower, read
from hub.systems._records import KEY_PREFIX, PUBLISHER, READER, ROLES, Contact, System, SystemsSnapshot, hash_key

__all__ = ["KEY_PREFIX", "PUBLISHER", "READER", "ROLES", "Contact", "System", "SystemsFollower", "SystemsSnapshot",
           "add", "hash_key", "read", "revoke", "validate"]
