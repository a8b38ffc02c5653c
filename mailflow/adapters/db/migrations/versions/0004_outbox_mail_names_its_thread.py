"""Each mail in the outbox names its meeting and the members it is about, and is found by its Message-ID, so
that an answer to it is read in that thread.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_members",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("outbox_id", "member_id"),
    )
    with op.batch_alter_table("outbox_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_members_member_id"), ["member_id"], unique=False)
    # batch mode: SQLite cannot add a foreign key to an existing table, so Alembic copies the table.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_meeting_id_meetings", "meetings", ["meeting_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(batch_op.f("ix_outbox_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_id"))
        batch_op.drop_constraint("fk_outbox_meeting_id_meetings", type_="foreignkey")
        batch_op.drop_column("meeting_id")
    with op.batch_alter_table("outbox_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_members_member_id"))
    op.drop_table("outbox_members")
