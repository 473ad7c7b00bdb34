"""Alembic environment: runs migrations on the Flask app's database connection.

Unlike Alembic's template, it does not call logging.config.fileConfig, which would replace
the application's JSON logging.
"""

from alembic import context
from flask import current_app

from openml_backend.schema import include_in_autogenerate

target_metadata = current_app.extensions["migrate"].db.metadata


def run_migrations_offline() -> None:
    """Emit SQL for the configured URL without connecting (`flask db upgrade --sql`)."""
    context.configure(
        url=current_app.config["SQLALCHEMY_DATABASE_URI"],
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_in_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply migrations through the app's engine (batch mode, so SQLite can alter tables)."""
    engine = current_app.extensions["migrate"].db.engine
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
            include_object=include_in_autogenerate,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
