"""The service's own state of an account (`account_states`), created when first needed.

Accounts made by OpenML's other systems have no row until this service issues them a
token, confirms them or revokes their tokens; a missing row reads as generation 0.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update

from ..extensions import db
from .models import AccountState, utcnow


def ensure_state(user_id: int) -> None:
    """Make sure `user_id` has a row (the caller commits). Two processes may race here: the
    loser's insert is ignored rather than failing the request."""
    db.session.execute(
        insert(AccountState)
        .values(user_id=user_id, token_generation=0, updated_at=utcnow())
        .prefix_with("OR IGNORE", dialect="sqlite")
        .prefix_with("IGNORE", dialect="mysql")
        .prefix_with("IGNORE", dialect="mariadb")
    )


def token_generation(user_id: int) -> int:
    """The generation every valid token of `user_id` carries (0 when it has no row)."""
    value = db.session.execute(
        select(AccountState.token_generation).where(AccountState.user_id == user_id)
    ).scalar_one_or_none()
    return value or 0


def bump_generation(user_id: int) -> None:
    """Invalidate every token issued to `user_id` so far (the caller commits). The increment
    happens in SQL, so two revocations racing in two processes both count."""
    _update_or_create(user_id, token_generation=AccountState.token_generation + 1)


def mark_confirmed(user_id: int) -> None:
    """Record when this service confirmed `user_id`'s address (the caller commits)."""
    _update_or_create(user_id, confirmed_at=utcnow())


def _update_or_create(user_id: int, **values) -> None:
    # UPDATE first: it takes the row's exclusive lock at once. Inserting first (INSERT IGNORE
    # takes a shared lock on an existing key) would let two racing transactions each hold a
    # shared lock and deadlock when both upgrade it.
    statement = update(AccountState).where(AccountState.user_id == user_id).values(updated_at=utcnow(), **values)
    if db.session.execute(statement).rowcount == 0:
        ensure_state(user_id)
        db.session.execute(statement)


def confirmed_at(user_id: int):
    """When this service confirmed the account, or None (unconfirmed, or confirmed elsewhere)."""
    return db.session.execute(
        select(AccountState.confirmed_at).where(AccountState.user_id == user_id)
    ).scalar_one_or_none()
