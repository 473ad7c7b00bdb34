"""`flask accounts prune`: delete expired revocations, throttle counters and email tokens.

Requests prune as they go (logout prunes revocations, the throttle prunes now and then); a
CronJob can run this too so the tables stay small on a quiet site.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import delete

from ..extensions import db
from .models import EmailToken, RevokedToken, utcnow
from .throttle import prune_expired


@click.group("accounts")
def accounts_cli() -> None:
    """User account maintenance."""


@accounts_cli.command("prune")
@with_appcontext
def prune() -> None:
    """Delete rows that can no longer matter (expired tokens and counters)."""
    now = utcnow()
    revoked = db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now)).rowcount
    email_tokens = db.session.execute(delete(EmailToken).where(EmailToken.expires_at < now)).rowcount
    db.session.commit()
    counters = prune_expired()
    click.echo(f"pruned revoked_tokens={revoked} email_tokens={email_tokens} throttle_counters={counters}")
