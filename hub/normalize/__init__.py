"""Pure mapping from raw commune payloads to canonical records: no Kafka, no I/O.

``normalize(raw, envelope, context, budget_s=None)`` picks the dialect named by the ``format``
header, parses, maps, validates and pseudonymizes, and returns canonical records ready for Avro
encoding — or raises :class:`hub.errors.Rejected` with a reason code, within a per-record time
budget (``too_expensive`` beyond it).

Shared pieces: :mod:`~hub.normalize.decode` (bytes to text, JSON, XML), :mod:`~hub.normalize.fields`
(values), :mod:`~hub.normalize.budget` (deadline and bounds), :mod:`~hub.normalize.personal_data`
(pseudonym keys, scrubbing, subjects), :mod:`~hub.normalize.attachments`,
:mod:`~hub.normalize.edxml_common` (edXML/eDoc mapping and routing), :mod:`~hub.normalize.canonical`
(hub-json and CSV values), :mod:`~hub.normalize.validate`.

Adding a vendor dialect is one module in ``hub/normalize/dialects/`` that defines
``FORMAT`` (the header value), ``KIND`` (``dossier``, ``document``, ``target`` or a tuple of them) and
``parse(raw: bytes, env: Envelope, ctx: Context) -> list[dict]``, plus fixtures; the
module is discovered by name, nothing else changes.
"""

from hub.normalize.context import Context, Envelope
from hub.normalize.core import formats, normalize

__all__ = ["Context", "Envelope", "formats", "normalize"]
