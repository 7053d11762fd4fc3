"""Personal data rules: pseudonym keys per purpose, scrubbing free text, which subjects may travel.

**Pseudonyms.** Applicant and handler identifiers become HMAC-SHA256 pseudonyms (hex) under
*separate* keys, one per purpose, so a leaked or subpoenaed handler key reveals nothing about
applicants and each can rotate on its own. By default both keys are derived from
``HUB_PSEUDONYM_KEY`` with HKDF-SHA256 (RFC 5869, empty salt, info ``hub/pseudonym/<purpose>``);
``HUB_APPLICANT_PSEUDONYM_KEY`` / ``HUB_HANDLER_PSEUDONYM_KEY`` replace a derived key. Every
pseudonym travels with the id of its key (``*_pseudonym_key_id``): the operator's
``HUB_*_PSEUDONYM_KEY_ID`` or, by default, ``k`` + 8 hex of HMAC(key, ``hub/pseudonym/key-id``) —
a fingerprint that changes whenever the key does and reveals nothing about it. The identifier
is normalized first: white space removed, upper case (``064 190 012 345`` = ``064190012345``).

**Scrubbing** (:func:`scrub`) replaces, in free text that travels, e-mail addresses with
``[email]``, Vietnamese phone numbers (``0`` or ``+84``/``84`` then 9-10 digits, optionally
grouped by spaces, dots or dashes) with ``[phone]``, and identity numbers — 9 digits (old
identity card), 12 digits (citizen identity card), 10 digits not starting with 0 (tax code,
optionally with a ``-ddd`` branch suffix) — with ``[id]``.

**Subjects** (trích yếu) travel, scrubbed, only for a state organ's official document to other
organs (:func:`subject_may_travel`):

1. the sender (``From/OrganId``) is a state organ: a well-formed electronic id of Decision
   20/2020/QĐ-TTg (``000.00.00.H41``, ``000.23.734.H41``) or an entry of the organ directory;
2. there is at least one recipient and every recipient is a state organ by the same test;
3. the document type name is not a kind that speaks for or about a citizen: petitions and
   letters (đơn, đơn thư, thư), complaints (khiếu nại), denunciations (tố cáo),
   recommendations and reflections (kiến nghị, phản ánh), and papers about one person
   (giấy giới thiệu, giấy nghỉ phép, giấy ủy quyền); a missing type name does not block;
4. the subject does not name a person with an honorific (``ông``/``bà``/``anh``/``chị``/
   ``cháu``/``em``/``công dân`` followed by a capitalised word), as in a forwarded petition
   ("V/v chuyển đơn của bà …").

``BussinessDocType`` (new, revoke, update, replace) does not change the rule: a revocation or
update of an official document is as official as the document. Any other document carries no
subject (``subject_withheld`` is true) unless ``HUB_CITIZEN_DOCUMENT_SUBJECTS`` is set, in which
case its subject travels scrubbed. Attachment file names never travel (see
:mod:`hub.normalize.attachments`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hub.normalize.fields import fold

PURPOSES = ("applicant", "handler")
_KEY_ID_LABEL = b"hub/pseudonym/key-id"

# Each pattern starts only where a token starts (look-behind): without that, a long run of letters
# or digits is rescanned from every position inside it (quadratic on a 1 MiB subject).
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_SEP = r"[ .\-]?"
_PHONE = re.compile(rf"(?<![\w+])(?:\(?\+84\)?{_SEP}|84{_SEP}|0)[1-9](?:{_SEP}\d){{7,9}}(?!{_SEP}\d)")
_NEEDS_SCRUB = re.compile(r"[0-9@]")
_ID = re.compile(r"(?<!\d)(?:\d{12}|[1-9]\d{9}(?:-\d{3})?|\d{9})(?!\d)")
STATE_ORGAN_ID = re.compile(r"^\d{3}\.\d{2}\.\d{2,3}\.[A-Z]\d{2}$", re.ASCII)
_HONORIFIC = re.compile(r"(?i:\b(?:ông|bà|anh|chị|cháu|em|công dân)\s+)(\w)")
_CITIZEN_KINDS = ("don", "thu", "khieunai", "tocao", "kiennghi", "phananh", "giaygioithieu", "giaynghiphep",
                  "giayuyquyen")


def hkdf_sha256(ikm: bytes, info: bytes, length: int = 32, salt: bytes = b"") -> bytes:
    """HKDF-SHA256 (RFC 5869): extract with ``salt`` (zeros when empty), expand with ``info``."""
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    out, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
    return out[:length]


def normalize_identifier(value: str) -> str:
    """The form an identifier is pseudonymized in: no white space, upper case."""
    return "".join(value.split()).upper()


@dataclass(frozen=True)
class PseudonymKey:
    """The key of one pseudonym purpose and its public id."""

    purpose: str
    key: bytes = field(repr=False)
    key_id: str

    @classmethod
    def of(cls, purpose: str, master: bytes, explicit: bytes | None = None,
           explicit_id: str | None = None) -> PseudonymKey:
        key = explicit or hkdf_sha256(master, b"hub/pseudonym/" + purpose.encode())
        key_id = explicit_id or "k" + hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:8]
        return cls(purpose, key, key_id)

    def __post_init__(self) -> None:
        # HMAC (RFC 2104) with its two keyed SHA-256 states prepared once: each pseudonym then costs two
        # state copies, not a digest lookup by name (slow under OpenSSL 3) and two key schedules.
        block = self.key if len(self.key) <= 64 else hashlib.sha256(self.key).digest()
        block = block.ljust(64, b"\0")
        object.__setattr__(self, "_inner", hashlib.sha256(bytes(b ^ 0x36 for b in block)))
        object.__setattr__(self, "_outer", hashlib.sha256(bytes(b ^ 0x5C for b in block)))

    def pseudonym(self, value: str | None) -> str | None:
        """Hex HMAC-SHA256 of the normalized identifier; None or blank stays None."""
        norm = normalize_identifier(value) if value else ""
        if not norm:
            return None
        inner = self._inner.copy()
        inner.update(norm.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def scrub(text: str | None) -> str | None:
    """``text`` with e-mail addresses, phone numbers and identity numbers replaced by placeholders."""
    if not text or _NEEDS_SCRUB.search(text) is None:
        return text  # every pattern needs a digit or an @: most names and units have neither
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[phone]", text)
    return _ID.sub("[id]", text)


def is_state_organ(organ_id: str | None, organs: Mapping[str, str]) -> bool:
    return bool(organ_id) and (STATE_ORGAN_ID.match(organ_id) is not None or organ_id in organs)


def names_a_person(subject: str) -> bool:
    return any(m.group(1).isupper() for m in _HONORIFIC.finditer(subject))


def subject_may_travel(sender: str | None, recipients: Sequence[str], type_name: str | None, subject: str,
                       organs: Mapping[str, str]) -> bool:
    """Whether a document's subject may reach the feeds (the module's rule, points 1-4)."""
    if not is_state_organ(sender, organs) or not recipients:
        return False
    if not all(is_state_organ(r, organs) for r in recipients):
        return False
    if type_name and fold(type_name).startswith(_CITIZEN_KINDS):
        return False
    return not names_a_person(subject)


def subject_fields(rec: Mapping, organs: Mapping[str, str], allow_citizen: bool) -> dict[str, object]:
    """``subject`` (scrubbed, or None when withheld) and ``subject_withheld`` of a document record."""
    subject = rec.get("subject")
    if not subject:
        return {"subject": None, "subject_withheld": False}
    travels = allow_citizen or subject_may_travel(rec.get("from_organ_id"), rec.get("to_organ_ids") or [],
                                                  rec.get("document_type_name"), subject, organs)
    return {"subject": scrub(subject) if travels else None, "subject_withheld": not travels}
