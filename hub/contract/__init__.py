"""The wire contract every writer and reader of the hub's topics agrees on: topics, headers, signatures, Avro."""
