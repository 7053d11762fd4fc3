"""A minimal hub subscriber: prints a feed's records as JSON lines (README, "Subscribing").

    pip install 'confluent-kafka[avro]'
    python subscriber.py feed.dossier.v1 [GROUP [MAX_RECORDS]]

KAFKA_BOOTSTRAP and REGISTRY_URL (the gateway's /registry) override the defaults below.
"""

import json
import os
import sys

from confluent_kafka import DeserializingConsumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import StringDeserializer

topic = sys.argv[1]
group = sys.argv[2] if len(sys.argv) > 2 else "my-system"
max_records = int(sys.argv[3]) if len(sys.argv) > 3 else None  # None: run until Ctrl-C

registry = SchemaRegistryClient({"url": os.environ.get("REGISTRY_URL", "http://127.0.0.1:8080/registry")})
consumer = DeserializingConsumer({
    "bootstrap.servers": os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
    "group.id": group,
    "auto.offset.reset": "earliest",  # a new group starts at the oldest record the feed keeps
    "isolation.level": "read_committed",  # never see records of a hub transaction that was aborted
    "enable.auto.offset.store": False,  # commit only records handled (store_offsets below): at least once
    "key.deserializer": StringDeserializer("utf_8"),
    "value.deserializer": AvroDeserializer(registry),  # decodes with the schema version each record names
})
consumer.subscribe([topic])
seen = 0
try:
    while max_records is None or seen < max_records:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        line = {"partition": msg.partition(), "offset": msg.offset(), "key": msg.key(), "value": msg.value()}
        print(json.dumps(line, default=str, ensure_ascii=False), flush=True)  # timestamps print as ISO text
        consumer.store_offsets(msg)
        seen += 1
finally:
    consumer.close()  # commits the stored offsets and leaves the group at once
