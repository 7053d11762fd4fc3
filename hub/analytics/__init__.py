"""The province's answers, as pure functions (no Kafka, no I/O): reporting periods, per-dossier
state and the Decision 766 indicators, directive reach with SLA deadlines, commune freshness,
targets and disbursement progress.

The processors (hub.processors) keep the states (JSON-serializable dicts, orjson) in their stores
(hub.engine: changelogged in the engine's transactions) and call:
``dossier.merge`` / ``recompute.affected_periods`` / ``kpi.compute_many``; ``directives.route`` /
``directives.merge`` / ``directives.overdue_transitions`` / ``directives.next_deadline``;
``freshness.merge`` / ``freshness.silent_transitions`` / ``freshness.next_silence``; ``targets.merge`` /
``targets.row``; readers call ``targets.rollup`` on the progress rows.
"""
