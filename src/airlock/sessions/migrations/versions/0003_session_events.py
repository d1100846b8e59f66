"""An append-only event log per session.

A dual-LLM program's execution record grew inside the session's state by one event per tool
call, so every request decoded and rewrote all earlier events (O(K) per request, O(K²) written
per session). Its events now go to this table, one row each, keyed by the turn's stream and
the event's index; the state keeps the count. States written before this revision still hold
their events inline and keep working: their events move here on their next save.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_events",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("stream", sa.String(32), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("event", sa.JSON, nullable=False),
        sqlite_with_rowid=False,  # the key is the only way in: one b-tree, not a table and an index
    )


def downgrade() -> None:
    op.drop_table("session_events")
