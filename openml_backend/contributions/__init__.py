"""Contributions: website users edit, tag, create tasks and studies on OpenML with their own
OpenML API key (``users.session_hash``).

``openml_calls.run_as_user`` runs one ``openml`` client write with one user's key in a child
process of its own (``child``), bounded by OPENML_TIMEOUT, and maps OpenML's answers to the
API's errors.
"""

from __future__ import annotations
