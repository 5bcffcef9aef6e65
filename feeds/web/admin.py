"""Placeholder: filled by its owner (see feeds/web/app.py)."""

from fastapi import APIRouter

router = APIRouter()
