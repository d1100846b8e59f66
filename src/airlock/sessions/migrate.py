"""Bring a database to the newest schema with Alembic, from inside the running server or CLI.

Running migrations at start-up keeps ``make run`` a single command; with several replicas on
PostgreSQL, Alembic's version table makes the second upgrade a no-op.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).with_name("migrations")


def upgrade_connection(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
