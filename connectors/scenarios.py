"""Content of the province simulator: dossier lifecycles, document exchanges, targets, bad data.

Pure and seeded: every choice comes from one ``random.Random``; times are offsets from the
``now`` each call receives, so a seed replays the same run. Nothing here talks to Kafka.

No event carries a time after the ``now`` it is generated at (its send instant): the hub refuses
events from the future (``event_in_future``, issue 22). Due dates lie ahead, as they should. A
status notification planned for later is queued with its planned time and written when it is
sent, at that time or — when it is sent earlier — at the send instant.

Its words and codes (organization ids, procedures, names, subjects) are in connectors.scenario_words.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

import orjson

from connectors.scenario_words import (  # noqa: F401 - re-exported: the simulator and tests name them here
    BAD_TYPES,
    DIRECTIVE_SUBJECTS,
    DOC_TYPES,
    EDOC_NS,
    EDXML_NS,
    FAMILY,
    GIVEN,
    MIDDLE,
    PROCEDURES,
    REPORT_SUBJECTS,
    STATUS_TEXT,
    commune_organ,
    organ_suffix,
    province_organ,
)
from connectors.target_scenarios import TargetPlan
from hub.reference import Commune


def vn_time(dt: datetime, fmt: str = "%Y%m%d%H%M%S") -> str:
    from hub.normalize.fields import VIETNAM

    return dt.astimezone(VIETNAM).strftime(fmt)


@dataclass
class Event:
    """One raw event to publish, with what the hub should make of it."""

    kind: str  # dossier | document | target
    format: str
    payload: bytes
    system: str  # publishing system id
    commune: str | None  # hub.commune header / Kafka key (None: the payload routes it)
    feed_records: int  # feed records a correct pipeline makes of it (0 for bad events)
    bad: str | None = None  # bad-data type, one DLQ record
    label: str = ""  # what it is: dossier_status, progress, directive, status, report, target_*, bad_*
    gateway_ok: bool = True  # may go through the HTTP gateway (single-commune system, good data)


@dataclass
class Followup:
    """A status notification queued for later; its time is fixed when it is sent (:meth:`Province.next`)."""

    reporter: str | None
    ref: dict
    code: str
    planned: datetime  # when it would happen if the commune took its time
    about: str
    chain: list[datetime]  # the time of the chain's latest sent status: a chain never goes back in time


@dataclass
class Dossier:
    code: str
    commune: Commune
    procedure: tuple
    path: list[str]
    received: datetime
    due: datetime
    applicant: dict
    channel: str
    level: int
    t: datetime
    step: int = 0
    progress: int = 0  # progress records sent about it so far


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
                   if c.isascii() and c.isalnum())


class Province:
    """Generates the traffic of one province's simulated communes."""

    def __init__(self, province: str, communes: list[Commune], rng: random.Random, bad_ratio: float = 0.0):
        self.province = province
        self.communes = communes
        self.rng = rng
        self.bad_ratio = bad_ratio
        self.open: list[Dossier] = []
        self.followups: list[Followup] = []  # status notifications waiting for their turn
        self.seq = 0
        self.edoc_communes = {c.code for c in communes if rng.random() < 0.3}  # vendor B speaks eDoc
        self.targets: list[Event] | None = None  # the year's targets and reports, planned at the first event

    # --- the mix -----------------------------------------------------------------------------
    def next(self, now: datetime) -> Event:
        """The next event of the run: at first half of them are the year's targets and reports."""
        if self.targets is None:
            plan = TargetPlan(self.province, self.communes, self.rng, now)
            self.targets = [Event("target", e.format, e.payload, e.system, e.commune, 1, label=e.label,
                                  gateway_ok=e.system != "sim-province" and e.format == "hub-json")
                            for e in reversed(plan.events())]  # popped from the end: assignments first
        if self.targets and self.rng.random() < 0.5:
            return self.targets.pop()
        r = self.rng.random()
        if r < self.bad_ratio:
            return self.bad(now)
        if self.followups and self.rng.random() < 0.45:
            return self._send(self.followups.pop(self.rng.randrange(min(len(self.followups), 8))), now)
        r = self.rng.random()
        if r < 0.62 or not self.communes:
            return self.dossier_step(now)
        if r < 0.68:
            return self.progress(now)
        if r < 0.80:
            return self.directive(now)
        return self.report(now)

    def _seq(self) -> int:
        self.seq += 1
        return self.seq

    def system(self, commune: str, kind: str) -> str:
        return f"sim-{'onestop' if kind == 'dossier' else 'docs'}-{commune}"

    # --- dossiers ----------------------------------------------------------------------------
    def _applicant(self, commune: Commune) -> dict:
        rng = self.rng
        name = " ".join(p for p in (rng.choice(FAMILY), rng.choice(MIDDLE), rng.choice(GIVEN)) if p)
        birth = rng.randint(1950, 2007)
        sex = rng.randint(0, 1)
        century = 0 if birth < 2000 else 2
        cid = f"0{self.province}{century + sex}{birth % 100:02d}{rng.randrange(10**6):06d}"
        return {"ChuHoSo": name, "SoGiayToChuHoSo": cid, "SoDienThoai": f"09{rng.randrange(10**8):08d}",
                "Email": f"{_ascii(name).lower()}{rng.randint(1, 99)}@gmail.com",
                "DiaChiCuTru": f"Thôn {rng.randint(1, 12)}, {commune.name}, tỉnh Gia Lai",
                "LoaiDoiTuong": "1" if rng.random() < 0.9 else "2"}

    def _new_dossier(self, now: datetime) -> Dossier:
        rng = self.rng
        commune = rng.choice(self.communes)
        proc = rng.choice(PROCEDURES)
        late = rng.random() < 0.15
        kind = rng.random()
        if kind < 0.08:
            path = ["1", "3"]  # not accepted
        elif kind < 0.15:
            path = ["1", "2", "7"]  # withdrawn
        elif kind < 0.30:
            path = ["1", "2", "4", "5", "4", "9", "10"]  # supplement requested
        else:
            path = ["1", "2", "4", "9", "10"]
        days = proc[3]
        # late ones were received long enough ago that they finish after the due date
        received = now - timedelta(days=days + (rng.randint(2, 6) if late else 0), hours=rng.randint(1, 48))
        if not late:
            received = now - timedelta(hours=rng.randint(1, 12))
        due = received + timedelta(days=days)
        channel = rng.choices(["1", "2", "3"], [0.55, 0.40, 0.05])[0]
        level = proc[5] if channel == "2" else rng.choice([2, 3])
        code = f"{commune_organ(commune.code, self.province)}-{vn_time(received, '%y%m%d')}-{self._seq():06d}"
        return Dossier(code, commune, proc, path, received, due, self._applicant(commune), channel, level,
                       received)

    def _payload(self, d: Dossier, status: str, now: datetime) -> dict:
        rng = self.rng
        mtthc, name, field_code, _days, fee, _level = d.procedure
        docs = [{"TenTepDinhKem": f"to-khai-{i + 1}.pdf", "DuocSoHoa": "1" if rng.random() < 0.7 else "0"}
                for i in range(rng.randint(1, 3))]
        obj = {
            "MaHoSo": d.code, "MaTTHC": mtthc, "TenTTHC": name, "MaLinhVuc": field_code,
            "KenhThucHien": d.channel, "MucDo": str(d.level), **d.applicant,
            "DinhDanhCHS": [{"SoDinhDanh": d.applicant["SoGiayToChuHoSo"], "LoaiDinhDanh": "CCCD"}],
            "TrichYeuHoSo": f"{name} cho {d.applicant['ChuHoSo']}",
            "NgayTiepNhan": vn_time(d.received), "NgayHenTra": vn_time(d.due), "TrangThaiHoSo": status,
            "DonViXuLy": f"UBND {d.commune.name}", "MaXa": d.commune.code,
            "DuocThanhToanTrucTuyen": "1" if fee and d.channel == "2" else "3",
            "HoSoCoThanhPhanSoHoa": "1" if any(x["DuocSoHoa"] == "1" for x in docs) else "0",
            "TaiLieuNop": docs,
            "DanhSachLePhi": [{"TenPhiLePhi": f"Lệ phí {name.lower()}", "MucPhi": fee}] if fee else [],
            "NgayCapNhat": vn_time(d.t),
        }
        if status in ("9", "10"):
            obj["NgayKetThucXuLy"] = vn_time(d.t if status == "9" else d.t - timedelta(hours=1))
        if status == "10":
            obj["NgayTra"] = vn_time(d.t)
        if status == "3":
            obj["NgayTuChoi"] = vn_time(d.t)
        return obj

    def dossier_step(self, now: datetime) -> Event:
        """Start a dossier or move an open one one status further (a full DVCQG snapshot)."""
        d = None
        if self.open and not (len(self.open) < 400 and self.rng.random() < 0.3):
            d = self.open[self.rng.randrange(len(self.open))]
            if d.t + timedelta(seconds=1) > now:
                d = None  # its last status is this second's: the next would be in the future
        if d is None:
            d = self._new_dossier(now)
            self.open.append(d)
        else:
            d.step += 1
            remaining = max(1, len(d.path) - d.step)
            before = d.t
            if d.path[d.step] in ("9", "10") and d.due < now:
                d.t = max(d.t, min(now, d.due + timedelta(hours=self.rng.randint(2, 30))))  # a late finish
            else:
                d.t = d.t + (min(d.due, now) - d.t) / (remaining + 1)
            # Each status change has its own time: (MaHoSo, status, time) is the event's natural key.
            d.t = max(d.t, before + timedelta(seconds=1))
        status = d.path[d.step]
        if d.step == len(d.path) - 1:
            self.open.remove(d)
        payload = orjson.dumps(self._payload(d, status, now))
        return Event("dossier", "dvcqg-json", payload, self.system(d.commune.code, "dossier"), d.commune.code,
                     1, label="dossier_status")

    def progress(self, now: datetime) -> Event:
        """A QuaTrinhXuLy progress record (handler names are personal data the hub drops)."""
        d = self.open[self.rng.randrange(len(self.open))] if self.open else self._new_dossier(now)
        if d.t + timedelta(seconds=d.progress + 1) > now:
            d = self._new_dossier(now)  # this one's next second is in the future; another dossier's record
        d.progress += 1  # each step at its own second: (MaHoSo, TrangThai, ThoiDiemXuLy) is its natural key
        when = d.t + timedelta(seconds=d.progress)
        obj = {"QuaTrinhXuLy": [{"MaHoSo": d.code, "NguoiXuLy": " ".join(self._applicant(d.commune)["ChuHoSo"]
                                                                          .split()[:3]),
                                 "ChucDanh": "Công chức Tư pháp - Hộ tịch", "ThoiDiemXuLy": vn_time(when),
                                 "PhongBanXuLy": "Bộ phận Một cửa", "NoiDungXuLy": "Chuyển xử lý",
                                 "TrangThai": d.path[d.step], "MaXa": d.commune.code}]}
        return Event("dossier", "dvcqg-json", orjson.dumps(obj), self.system(d.commune.code, "dossier"),
                     d.commune.code, 1, label="progress")

    # --- documents ---------------------------------------------------------------------------
    def _organ(self, code: str | None) -> tuple[str, str]:
        if code is None:
            return province_organ(self.province), "Ủy ban nhân dân tỉnh Gia Lai"
        name = next(c.name for c in self.communes if c.code == code)
        return commune_organ(code, self.province), f"Ủy ban nhân dân {name}"

    def _package(self, ns: str, sender: str | None, recipients: list[str | None], steering: str,
                 subject: str, now: datetime) -> tuple[bytes, dict]:
        rng = self.rng
        number = self._seq()
        notation = "UBND-VP" if sender is None else f"UBND-{sender}"
        from_id, from_name = self._organ(sender)
        doc_id = f"{from_id},{vn_time(now, '%Y/%m/%d')},{number}/{notation}"
        type_code, type_name = ("1", "Công văn") if steering == "1" else rng.choice(DOC_TYPES)
        priority = rng.choices(["0", "1", "2", "3"], [0.6, 0.25, 0.1, 0.05])[0]
        ref = {"document_id": doc_id, "organ": from_id, "code": f"{number}/{notation}",
               "date": vn_time(now, "%Y/%m/%d")}
        e = escape
        to = "".join(f"<To><OrganId>{o}</OrganId><OrganName>{e(n)}</OrganName></To>"
                      for o, n in (self._organ(r) for r in recipients))
        signer = " ".join(self._applicant(self.communes[0])["ChuHoSo"].split()[:3])
        header = (f"<From><OrganId>{from_id}</OrganId><OrganName>{e(from_name)}</OrganName>"
                  f"<Email>vanthu@gialai.gov.vn</Email><Telephone>0269382{rng.randrange(1000):03d}</Telephone></From>"
                  f"{to}<Code><CodeNumber>{number}</CodeNumber><CodeNotation>{notation}</CodeNotation></Code>"
                  f"<PromulgationInfo><Place>Gia Lai</Place><PromulgationDate>{vn_time(now, '%Y/%m/%d')}"
                  f"</PromulgationDate></PromulgationInfo>")
        doc_type = (f"<DocumentType><Type>{type_code}</Type><TypeName>{e(type_name)}</TypeName>"
                    "</DocumentType>"
                    if ns == EDXML_NS else f"<DocumentType>{e(type_name)}</DocumentType>")
        header += (f"{doc_type}<Subject>{e(subject)}</Subject><Content>{e(subject)}. Đề nghị các đơn vị "
                   f"triển khai thực hiện.</Content><SignerInfo><Competence>KT. CHỦ TỊCH</Competence>"
                   f"<Position>PHÓ CHỦ TỊCH</Position><FullName>{e(signer)}</FullName></SignerInfo>"
                   f"<DueDate>{vn_time(now + timedelta(days=rng.choice([3, 7, 15])), '%Y/%m/%d')}</DueDate>"
                   f"<OtherInfo><Priority>{priority}</Priority><SphereOfPromulgation>Địa phương"
                   f"</SphereOfPromulgation><PageAmount>{rng.randint(1, 6)}</PageAmount></OtherInfo>"
                   f"<SteeringType>{steering}</SteeringType><DocumentId>{doc_id}</DocumentId>")
        ts_tag = "Timestamp" if ns == EDXML_NS else "Time"
        trace = (f"<TraceHeaderList><TraceHeader><OrganId>{from_id}</OrganId>"
                 f"<{ts_tag}>{vn_time(now)}</{ts_tag}>"
                 f"</TraceHeader><Bussiness><BussinessDocType>0</BussinessDocType><StaffInfo><Staff>Văn thư"
                 f"</Staff></StaffInfo></Bussiness></TraceHeaderList>")
        name = f"{number}-{notation}.pdf"
        blob = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK"
        if ns == EDXML_NS:
            xml = (f'<?xml version="1.0" encoding="UTF-8"?><edXML xmlns="{ns}"><edXMLEnvelope><edXMLHeader>'
                   f"<MessageHeader>{header}</MessageHeader>{trace}</edXMLHeader><edXMLBody><edXMLManifest>"
                   f"<Reference><ContentId>cid:1</ContentId><ContentType>application/pdf</ContentType>"
                   f"<AttachmentName>{name}</AttachmentName></Reference></edXMLManifest></edXMLBody>"
                   f"</edXMLEnvelope><AttachmentEncoded><Attachment><ContentId>1</ContentId>"
                   f"<ContentTransferEncoded>{blob}</ContentTransferEncoded></Attachment></AttachmentEncoded>"
                   f"</edXML>")
        else:
            xml = (f'<?xml version="1.0" encoding="UTF-8"?><EdXMLEnvelope xmlns="{ns}"><EdXMLHeader>'
                   f"<MessageHeader>{header}</MessageHeader>{trace}</EdXMLHeader><Manifest><Attachment>"
                   f"<FileName>{name}</FileName><FileType>pdf</FileType><Content>{blob}</Content></Attachment>"
                   f"</Manifest></EdXMLEnvelope>")
        return xml.encode(), ref

    def _send(self, f: Followup, now: datetime) -> Event:
        """A queued status at its planned time, or now when sent before it; never before its chain's last."""
        when = max(min(f.planned, now), f.chain[0])
        f.chain[0] = when
        return self._status(f.reporter, f.ref, f.code, when, f.about)

    def _status(self, reporter: str | None, ref: dict, code: str, when: datetime, about: str) -> Event:
        """A status notification from ``reporter``'s system (None: the province) about document ``ref``.

        ``about`` is the commune the record belongs to: the reporter itself for a commune's
        receipt of a directive, the sending commune when the province acknowledges a report.
        """
        ns = EDOC_NS if reporter in self.edoc_communes else EDXML_NS
        from_id, from_name = self._organ(reporter)
        body = (f"<MessageStatus><ResponseFor><OrganId>{ref['organ']}</OrganId>"
                f"<Code>{escape(ref['code'])}</Code>"
                f"<PromulgationDate>{ref['date']}</PromulgationDate><DocumentId>{escape(ref['document_id'])}"
                f"</DocumentId></ResponseFor><From><OrganId>{from_id}</OrganId><OrganName>{escape(from_name)}"
                f"</OrganName></From><StatusCode>{code}</StatusCode><Description>{STATUS_TEXT[code]}</Description>"
                f"<Timestamp>{vn_time(when)}</Timestamp><StaffInfo><Staff>Văn thư</Staff></StaffInfo>"
                f"</MessageStatus>")
        if ns == EDXML_NS:
            xml = (f'<edXML xmlns="{ns}"><edXMLEnvelope><edXMLHeader>{body}</edXMLHeader></edXMLEnvelope>'
                   "</edXML>")
        else:
            xml = f'<EdXMLEnvelope xmlns="{ns}"><EdXMLHeader>{body}</EdXMLHeader></EdXMLEnvelope>'
        fmt = "edoc-go" if ns == EDOC_NS else "edxml"
        system = "sim-province" if reporter is None else self.system(reporter, "document")
        return Event("document", fmt, xml.encode(), system, about, 1, label="status",
                     gateway_ok=reporter is not None)

    def directive(self, now: datetime) -> Event:
        """A provincial directive (SteeringType 1) to K communes; their receipts follow later."""
        k = self.rng.randint(1, min(len(self.communes), 12))
        recipients = sorted(c.code for c in self.rng.sample(self.communes, k))
        subject = self.rng.choice(DIRECTIVE_SUBJECTS)
        xml, ref = self._package(EDXML_NS, None, list(recipients), "1", subject, now)
        for code in recipients:
            # Most communes confirm arrival; fewer get as far as completion (reach is uneven).
            depth = self.rng.choices([1, 2, 3, 4, 5], [0.1, 0.2, 0.2, 0.2, 0.3])[0]
            chain = ["01", "03", "04", "05", "06"][:depth]
            when, last = now, [now]
            for status in chain:
                when = when + timedelta(minutes=self.rng.randint(5, 600))
                self.followups.append(Followup(code, ref, status, when, code, last))
        return Event("document", "edxml", xml, "sim-province", None, len(recipients), label="directive",
                     gateway_ok=False)

    def report(self, now: datetime) -> Event:
        """A commune sends a report to the province (OUTGOING); the province acknowledges it."""
        commune = self.rng.choice(self.communes).code
        ns = EDOC_NS if commune in self.edoc_communes else EDXML_NS
        xml, ref = self._package(ns, commune, [None], "0", self.rng.choice(REPORT_SUBJECTS), now)
        fmt = "edoc-go" if ns == EDOC_NS else "edxml"
        when, last = now, [now]
        for status in ["01", "03"][: self.rng.randint(0, 2)]:
            when = when + timedelta(minutes=self.rng.randint(5, 240))
            self.followups.append(Followup(None, ref, status, when, commune, last))
        return Event("document", fmt, xml, self.system(commune, "document"), commune, 1, label="report")

    # --- bad data ----------------------------------------------------------------------------
    def bad(self, now: datetime) -> Event:
        """One event the hub must dead-letter (exactly one DLQ record)."""
        kind = self.rng.choice(BAD_TYPES)
        d = self._new_dossier(now)
        obj = self._payload(d, "1", now)
        system, commune = self.system(d.commune.code, "dossier"), d.commune.code
        if kind == "unknown_status":
            obj["TrangThaiHoSo"] = "12"
        elif kind == "due_before_received":
            obj["NgayHenTra"] = vn_time(d.received - timedelta(days=2))
        elif kind == "unknown_commune":
            obj["MaXa"] = "99999"
        if kind == "malformed_json":
            payload = orjson.dumps(obj)[: -self.rng.randint(5, 40)]
        elif kind == "malformed_xml":
            xml, _ = self._package(EDXML_NS, commune, [None], "0", self.rng.choice(REPORT_SUBJECTS), now)
            text = xml.decode()
            payload = text[: len(text) // 2].encode()  # cut on a character, not inside one
            return Event("document", "edxml", payload, self.system(commune, "document"), commune, 0, bad=kind,
                         label=f"bad_{kind}", gateway_ok=False)
        else:
            payload = orjson.dumps(obj)
        return Event("dossier", "dvcqg-json", payload, system, commune, 0, bad=kind, label=f"bad_{kind}",
                     gateway_ok=False)
