"""Keys record whether their saved policy is locked.

A key created with a policy before this column existed had its policy replaced by any request's
X-Policy header. Such keys are upgraded to *locked* (fail closed): the operator wrote a policy,
so it holds; ``airlock keys create --policy-overridable`` is the way to ask for the old
behaviour. Keys without a saved policy have nothing to lock.

Revision ID: 0002
Revises: 0001
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _saves_policy(base_config) -> bool:
    if isinstance(base_config, str):  # SQLite hands JSON columns back as text here
        try:
            base_config = json.loads(base_config)
        except ValueError:
            return False
    section = base_config.get("policy") if isinstance(base_config, dict) else None
    return isinstance(section, dict) and any(v is not None for v in section.values())


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("policy_locked", sa.Boolean, nullable=False, server_default=sa.false()))
    keys = sa.table("api_keys", sa.column("id", sa.String), sa.column("base_config", sa.JSON),
                    sa.column("policy_locked", sa.Boolean))
    conn = op.get_bind()
    locked = [row.id for row in conn.execute(sa.select(keys.c.id, keys.c.base_config)) if _saves_policy(row.base_config)]
    if locked:
        conn.execute(keys.update().where(keys.c.id.in_(locked)).values(policy_locked=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("policy_locked")
