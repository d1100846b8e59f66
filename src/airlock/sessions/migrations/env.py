"""Alembic environment: runs against the connection Airlock hands it (see ``sessions.migrate``)."""

from alembic import context

from airlock.sessions.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
