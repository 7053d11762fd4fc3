"""Operator tools behind the `hub` command (hub.cli): status, trace, dead letters, the ACL plan, people's accounts."""
