"""Indexes for a backlog: the reply limits read a window of the outbox from an index alone (the rows hold
the mail's text, and reading them per reply made a long pass slow down as it went); the due outbox comes in
the order it is sent; the mails about a meeting are found without reading the outbox; and a meeting's places
are counted by status, its waiting list in order.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_created_at"))
        batch_op.create_index(
            "ix_outbox_created_at_kind", ["created_at", "kind", "status", "recipient"], unique=False
        )
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at", "id"], unique=False)
        batch_op.create_index("ix_outbox_meeting_id_kind", ["meeting_id", "kind"], unique=False)
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registrations_meeting_id"))
        batch_op.create_index(
            "ix_registrations_meeting_id_status", ["meeting_id", "status", "updated_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index("ix_registrations_meeting_id_status")
        batch_op.create_index(batch_op.f("ix_registrations_meeting_id"), ["meeting_id"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_meeting_id_kind")
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_index("ix_outbox_created_at_kind")
        batch_op.create_index(batch_op.f("ix_outbox_created_at"), ["created_at"], unique=False)
