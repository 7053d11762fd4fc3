"""The processors: the hub's stream logic that the engine (hub.engine) runs, and the worker process hosting them.

normalize: ingest.* -> parse, validate, pseudonymize, dedupe -> feed.*.v1 | hub.dlq.v1; kpi, directives,
freshness, targets: feeds -> the derived feeds (feed.kpi.commune.v1, feed.directive.v1, feed.freshness.v1,
feed.target.progress.v1). Each is plain code over a batch, run by a :class:`hub.engine.Engine` (librdkafka,
one Kafka transaction per batch); :mod:`hub.processors.worker` hosts the engines in a faust process (signals,
web server, timers) whose own Kafka clients are off (docs/architecture.md, Decision 1).
"""
