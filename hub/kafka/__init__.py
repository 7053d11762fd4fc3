"""Kafka plumbing: settings to client configuration, reading a topic up to its end, one acknowledged write."""
