"""Tables of the coordination service (its domain tables arrive with its own issue)."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
