"""What Alembic's autogenerate may touch in a database this service shares with OpenML.

OpenML's application database holds many tables this service does not model (datasets,
runs, flows, ...) and OpenML's account tables, whose legacy columns and keys this service
only partly uses. Autogenerate must never propose dropping or altering any of it: it
compares only the tables and columns of this service's metadata, and treats OpenML's
account tables as read-only.
"""

from __future__ import annotations

from typing import Any

from .accounts.models import OPENML_TABLES


def include_in_autogenerate(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's `include_object` hook: False for anything only the database has (never
    dropped), and for every part of OpenML's own tables (never altered)."""
    if reflected and compare_to is None:
        return False
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", None) not in OPENML_TABLES
