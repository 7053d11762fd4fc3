"""Confluent-compatible schema-registry read API (placeholder: filled by the schemas work)."""

from fastapi import APIRouter

router = APIRouter(tags=["registry"])
