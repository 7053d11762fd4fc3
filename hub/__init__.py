"""Commune Interconnection Hub: commune systems -> Kafka -> normalized feeds for the province."""

from hub import _native

# Before any module of the hot path is imported: compiled only when built from these very sources.
_native.guard()
