"""``codec``: encode + decode of canonical DossierEvent records in the Confluent wire format.

Baselines in the same process: stdlib ``json`` and ``orjson`` dumps+loads of the same dicts (what
a schemaless JSON feed would cost), and Apache's ``avro`` package DatumWriter/DatumReader on the
same schema, to re-check DESIGN §5's claim that fastavro is about 8x faster.
"""

from __future__ import annotations

import io
import json

import avro.io
import avro.schema
import orjson

from bench.measure import RATE, Row, Stat, rate
from bench.records import canonical_dossiers
from hub.contract import codec
from hub.settings import Settings

SUBJECT = "feed.dossier.v1-value"


def run(*, quick: bool, runs: int) -> list[Row]:
    records = canonical_dossiers(200 if quick else 1000)
    schemas = codec.load(Settings.from_env(env={}).schemas_dir)
    writer = schemas.latest(SUBJECT)
    min_time = 0.2 if quick else 1.0

    def hub_codec() -> int:
        for rec in records:
            codec.decode(schemas, codec.encode(writer, rec))
        return len(records)

    def stdlib_json() -> int:
        for rec in records:
            json.loads(json.dumps(rec, ensure_ascii=False))
        return len(records)

    def or_json() -> int:
        for rec in records:
            orjson.loads(orjson.dumps(rec))
        return len(records)

    # The avro package wants datetimes for timestamp-millis (ints fail its validation), so it gets the
    # records as the hub decodes them; the bytes it writes are identical to fastavro's.
    avro_records = [codec.decode(schemas, codec.encode(writer, r)) for r in records]
    avro_schema = avro.schema.parse(writer.text)
    avro_writer, avro_reader = avro.io.DatumWriter(avro_schema), avro.io.DatumReader(avro_schema)
    avro_sample = avro_records[: max(50, len(avro_records) // 10)]  # ~10x slower: fewer records per call

    def apache_avro() -> int:
        for rec in avro_sample:
            buf = io.BytesIO()
            avro_writer.write(rec, avro.io.BinaryEncoder(buf))
            avro_reader.read(avro.io.BinaryDecoder(io.BytesIO(buf.getvalue())))
        return len(avro_sample)

    size = sum(len(codec.encode(writer, r)) for r in records) / len(records)
    json_size = sum(len(orjson.dumps(r)) for r in records) / len(records)
    hub = Stat("records/s", rate(hub_codec, runs=runs, min_time_s=min_time))
    extra = {"records": len(records), "avro_bytes_per_record": round(size, 1),
             "json_bytes_per_record": round(json_size, 1), "schema_id": writer.id}
    rows = []
    for name, fn in (("json", stdlib_json), ("orjson", or_json), ("avro (Apache)", apache_avro)):
        base = Stat("records/s", rate(fn, runs=runs, min_time_s=min_time))
        rows.append(Row("codec", "fastavro encode+decode", hub, name, base, RATE, extra))
    return rows
