"""Stream processors: ingest.* -> normalize -> dedupe -> feed.*.v1 | hub.dlq.v1 (faust-streaming)."""
