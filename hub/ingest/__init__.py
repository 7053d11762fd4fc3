"""The write side: systems' HTTP events checked, signed and written to the ingest.* topics."""
