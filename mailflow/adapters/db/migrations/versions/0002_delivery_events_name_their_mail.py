"""Delivery events name the outbox row they are about, so the digest can say which mail failed.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table, so Alembic copies the table.
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outbox_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_events_outbox_id_outbox", "outbox", ["outbox_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_events_outbox_id_outbox", type_="foreignkey")
        batch_op.drop_column("outbox_id")
