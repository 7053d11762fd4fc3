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

**Scrubbing** (:func:`scrub`) replaces, in free text that travels, e-mail addresses with ``[email]``,
phone numbers with ``[phone]`` and identity numbers with ``[id]``; every other character is kept as sent.

- *Folding.* The rules read the text folded by NFKC (full-width ``０９０５``, ``＠``, no-break spaces)
  with every Unicode decimal digit as ASCII, and replace the matching characters *of the original*:
  a text without personal data comes out unchanged (``m²``, ``½`` stay), never re-normalized.
- *E-mail*: local part and domain of letters in any script (RFC 6531: ``nguyễn.văn@ví-dụ.vn``), digits
  and the RFC 5322 atom characters, a dotted domain ending in a label of two or more characters.
- *Numbers* are runs of digit groups joined by one space, dot, dash or slash each (``064 190 012 345``,
  ``0905/111/222``), optionally opened by ``(0905)``, ``(+84)`` or ``+``. One number is grouped one way:
  its separators are all the same, except the one after an opening ``(…)``, ``+84`` or ``84`` group
  (``(+84) 905-111-222``); so ``27/11/2025 0905111222`` is a date and a phone. A number is a *phone*
  when it has a ``+`` (8-15 digits) or starts with ``84`` or ``0`` followed by 8-10 more digits, the
  first of them not 0; else an *identity number* when it has 9 digits (identity
  card), 12 (citizen identity card), 10 or 13 (tax code, with its ``-ddd`` branch). Where a run can be
  read several ways (numbers glued by one space: ``0641 9001 2345 2025``) the reading covering most
  digits wins, then the one with most zero-led numbers (identity and phone numbers start with 0): a
  datum is always read whole, but a year glued to an id (``2025 064 190 012 345``) may be read into
  it. Commas do not group (they separate list items and English thousands).
- *Kept*: runs of fewer than 9 digits (dates ``05/12/2025``, ``173/2025/NĐ-CP``, ``766/QĐ-TTg``, years,
  percentages), longer single groups (``20251127083000``), organ ids and the tail of dossier codes
  (``000.23.734.H41-251112-0034``), and *amounts*: a thousands-grouped number (first group 1-3 digits
  not starting with 0, then groups of three, one separator ``.`` or space) followed by a currency word
  (``đồng``, ``đ``, ``VNĐ``, ``tỷ``, ``triệu``, ``nghìn`` …; ``đồng thời``/``đồng ý`` are no currency).
  An amount *without* a currency word that has the length of an identity number (``2.400.000.000``)
  is scrubbed: when an amount looks like an id, the rule prefers privacy.

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
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hub.normalize.fields import fold

PURPOSES = ("applicant", "handler")
_KEY_ID_LABEL = b"hub/pseudonym/key-id"

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


class _HmacStates:
    """The keyed SHA-256 states PseudonymKey.__post_init__ prepares: attributes, not dataclass fields
    (declared on a plain base class, which the dataclass does not collect)."""

    _inner: hashlib._Hash
    _outer: hashlib._Hash


@dataclass(frozen=True)
class PseudonymKey(_HmacStates):
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


# -- scrubbing -------------------------------------------------------------------------------------
# Every pattern runs on the folded text (see _fold) and starts only where a token starts (look-behind):
# without that, a long run of letters or digits is rescanned from every position inside it (quadratic
# on a 1 MiB subject).
_NEEDS_SCRUB = re.compile(r"[\d@\uff20\ufe6b\u00b2\u00b3\u00b9\u2070-\u209f\u2460-\u24ff\u2776-\u2793]")
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")  # Unicode decimal digits NFKC leaves alone (Arabic-Indic, ...)
_LOCAL = r"[\w.!#$%&'*+/=?^`{|}~\-\u0300-\u036f]"  # RFC 5322 atoms plus Unicode letters (RFC 6531)
_LABEL = r"[\w\-\u0300-\u036f]+"
_EMAIL = re.compile(rf"(?<!{_LOCAL}){_LOCAL}+@{_LABEL}(?:\.{_LABEL})*\.[^\W\d_][\w\-\u0300-\u036f]+")
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
# A run: digit groups joined by one separator each, optionally opened by "(0905) ", "(+84) " or "+".
# Not after a digit or "+" (the run starts there), nor inside an organ id or right after its "H41-"
# (the yymmdd-nnnn tail of a dossier code such as 000.23.734.H41-251112-0034).
# The look-ahead skips, at C speed, runs that cannot hold the 9 digits the shortest rule reads.
_RUN = re.compile(rf"(?=[(+0-9])(?<![0-9+])(?<!\.[A-Z])(?<![A-Z][0-9][0-9]-)(?=(?:[^0-9]{{0,2}}[0-9]){{9}})"
                  rf"(?:\(\+?[0-9]+\)[ .\-{_DASHES}]?|\+)?[0-9]+(?:[ .\-/{_DASHES}][0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
_PUNCT = frozenset("./-")
_SEP_DASH = str.maketrans(dict.fromkeys(_DASHES, "-"))
# A currency word after a thousands-grouped number makes it an amount; "đồng thời" (at the same time)
# and "đồng ý" (agree) are no currency.
_CURRENCY = re.compile(r" ?(?:đồng(?! (?:thời|ý)(?!\w))|đ|vnđ|vnd|tỷ|tỉ|triệu|nghìn|ngàn|trđ|tr\.đ|usd)(?!\w)",
                       re.IGNORECASE)
_MAX_DIGITS = 15  # the longest number any rule reads: a phone with a country code (E.164)


def _fold(text: str) -> tuple[str, list[int] | None]:
    """``text`` with compatibility forms folded (NFKC: full-width digits and ``＠``, no-break spaces) and
    every Unicode decimal digit as ASCII, and for each folded character the index of the original one
    (None when folding changes nothing: the common case, two C-speed checks)."""
    if text.isascii() or (unicodedata.is_normalized("NFKC", text) and _OTHER_DIGIT.search(text) is None):
        return text, None
    pieces: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch < "\x80":
            piece = ch
        else:
            digit = unicodedata.decimal(ch, None)
            piece = str(digit) if digit is not None else unicodedata.normalize("NFKC", ch)
        pieces.append(piece)
        origin.extend([i] * len(piece))
    return "".join(pieces), origin


def _shape(digits: str, plus: bool) -> str | None:
    """The placeholder for a number of these digits, or None when it is no phone or identity number."""
    n = len(digits)
    if plus:  # an international number: +84 ... or another country's
        return "[phone]" if 8 <= n <= _MAX_DIGITS else None
    if digits.startswith("84") and 10 <= n <= 12 and digits[2] != "0":
        return "[phone]"
    if digits[0] == "0" and 9 <= n <= 11 and digits[1] != "0":
        return "[phone]"
    return "[id]" if n in (9, 10, 12, 13) else None


def _amount_start(digits: list[str], seps: list[str], currency_follows: bool, glued: bool = False) -> int:
    """Index of the first group of the thousands-grouped amount that ends the run before a currency word
    (``12.500.000 đồng``, ``2025 100 000 000 đồng`` -> the 100), or len(digits) when there is none.
    ``glued``: the run starts right after a letter, so a short zero-led first group is the tail of a code
    (``G09-TP03 100 000 000 đồng``), not the head of a number."""
    n = len(digits)
    if not currency_follows or n < 2 or seps[-1] not in ". ":
        return n
    k = n - 1
    while k > 0 and len(digits[k]) == 3 and seps[k - 1] == seps[-1]:
        k -= 1
    first = k + 1 if len(digits[k]) > 3 else k  # a year or a code before the amount is not part of it
    if first > n - 2 or any(len(d) != 3 for d in digits[first + 1:]):
        return n
    # Amounts are not zero-led: 064.190.012.345 đồng stays one identity number.
    if digits[first] == "0" or digits[first][0] != "0":
        return first
    # A short zero-led group that ends something else — a date (2025-12-05 100 000 000 đồng), or a code's
    # letters (G09-TP03 100 000 000 đồng) — is not the amount's head: the amount starts after it.
    ends_other = (first == 0 and glued) or (first > 0 and seps[first - 1] != seps[-1])
    if ends_other and len(digits[first]) <= 2 and first + 1 <= n - 2 and digits[first + 1][0] != "0":
        return first + 1
    return n


def _number_spans(folded: str, taken: list[tuple[int, int, str]]) -> None:
    """Append (start, end, placeholder) of every phone and identity number in ``folded``."""
    for m in _RUN.finditer(folded):
        run = m.group()
        bounds = [(g.start(), g.end()) for g in _GROUP.finditer(run)]
        digits = [run[s:e] for s, e in bounds]
        if sum(map(len, digits)) < 9:
            continue  # the shortest rule reads 9 digits: dates, years, amounts and codes end here
        seps = [run[bounds[k][1]:bounds[k + 1][0]].translate(_SEP_DASH) for k in range(len(bounds) - 1)]
        lead = run[:bounds[0][0]] or (digits[0] == "84") * "84"  # "84 905.111.222": a country code
        glued = m.start() > 0 and folded[m.start() - 1].isalpha()
        stop = _amount_start(digits, seps, _CURRENCY.match(folded, m.end()) is not None, glued)
        # Best cover of the groups by numbers of a known shape: most digits (a datum in any grouping is
        # read whole), then most zero-led ones (citizen identity and phone numbers start with 0).
        best: list[tuple[int, int]] = [(0, 0)] * (stop + 1)
        pick: list[tuple[int, str] | None] = [None] * (stop + 1)
        for i in range(stop - 1, -1, -1):
            best[i], plus, number, ref = best[i + 1], i == 0 and "+" in lead, "", None
            for j in range(i, stop):
                if j > i and not (j == 1 and lead):  # "(0905) 111 222", "+84 905.111.222": the first gap is free
                    if ref is None:
                        ref = seps[j - 1]
                    elif seps[j - 1] != ref:
                        break  # one number is grouped one way: 27/11/2025 0905111222 is two
                number += digits[j]
                if len(number) > _MAX_DIGITS:
                    break
                label = _shape(number, plus)
                # Groups joined by spaces never take part of a punctuated number (1.001612 135 is a code
                # and a count, not 001612135).
                if ref == " " and (i > 0 and seps[i - 1] in _PUNCT or j < len(seps) and seps[j] in _PUNCT):
                    label = None
                if label is not None:
                    score = (best[j + 1][0] + len(number), best[j + 1][1] + (plus or number[0] == "0"))
                    if score > best[i]:
                        best[i], pick[i] = score, (j, label)
        # A run glued to letters whose first group is short is a code's tail first (TP03 2025 2025): that
        # group starts no number (SĐT0905111222, one long group, still does).
        i = 1 if glued and len(digits[0]) <= 2 and len(digits) > 1 else 0
        while i < stop:
            chosen = pick[i]  # set only where taking it beats skipping group i
            if chosen is None:
                i += 1
                continue
            j, label = chosen
            taken.append((m.start() + (0 if i == 0 else bounds[i][0]), m.start() + bounds[j][1], label))
            i = j + 1


def scrub(text: str | None) -> str | None:
    """``text`` with e-mail addresses, phone numbers and identity numbers replaced by placeholders
    (the module's rule, "Scrubbing"); everything else is kept character for character."""
    if not text or _NEEDS_SCRUB.search(text) is None:
        return text  # every rule needs a digit or an @: most names and units have neither
    folded, origin = _fold(text)
    spans = [(m.start(), m.end(), "[email]") for m in _EMAIL.finditer(folded)]
    numbers = folded
    if spans:  # blank the addresses out, same length: their digits are not read again as numbers
        chars = list(folded)
        for start, end, _label in spans:
            chars[start:end] = "\0" * (end - start)
        numbers = "".join(chars)
    _number_spans(numbers, spans)
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    last = 0
    for start, end, label in spans:
        if origin is not None:  # back to the original characters: the output is the input, less the data
            start, end = origin[start], origin[end - 1] + 1
        if start < last:  # one original character folded into two matches: one placeholder
            last = max(last, end)
            continue
        out += (text[last:start], label)
        last = end
    out.append(text[last:])
    return "".join(out)


def is_state_organ(organ_id: str | None, organs: Mapping[str, str]) -> bool:
    return organ_id is not None and organ_id != "" and (
        STATE_ORGAN_ID.match(organ_id) is not None or organ_id in organs)


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
