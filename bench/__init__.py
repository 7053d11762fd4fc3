"""Benchmarks of the hub: ``python -m bench [--quick] [--only NAME]`` (``make bench``).

Performance is measured here and never asserted in tests: timings on a shared CI machine are
noise, while a same-run ratio against a baseline measured in the same process says something
(how much the hub costs over the bare library or the bare broker). Each benchmark repeats its
measurement and reports the median with min/max; results go to stdout as a table and to
``var/bench/<timestamp>.json``. ``docs/benchmarks.md`` explains each one.
"""
