"""Membership and registration are two things: a registration belongs to one meeting (registered, waiting or
cancelled, and afterwards attended), and a meeting remembers what people were told about it (its .ics UID and
SEQUENCE, the details last announced, its status). Theme proposals get a table.

`attendance` becomes `registrations` ("excused" is now "cancelled"); members lose `active_from`, since a
member is no longer expected at every meeting after it: they register for each one.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "meeting_id"),
    )
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registrations_meeting_id"), ["meeting_id"], unique=False)
    op.execute(
        "INSERT INTO registrations (id, member_id, meeting_id, status, attended, created_at, updated_at) "
        "SELECT id, member_id, meeting_id, "
        "CASE status WHEN 'excused' THEN 'cancelled' ELSE status END, NULL, updated_at, updated_at "
        "FROM attendance"
    )
    if op.get_bind().dialect.name == "postgresql":  # the copied ids must not collide with the next one
        op.execute(
            "SELECT setval(pg_get_serial_sequence('registrations', 'id'), "
            "COALESCE((SELECT MAX(id) FROM registrations), 0) + 1, false)"
        )
    op.drop_table("attendance")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("active_from")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), nullable=False, server_default="confirmed")
        )
        batch_op.add_column(sa.Column("uid", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("announced", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("walk_ins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("attendance_recorded_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        for column in ("status", "sequence", "walk_ins"):
            batch_op.alter_column(column, server_default=None)
    op.create_table(
        "theme_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("inbound_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["inbound_id"], ["inbound_messages.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("theme_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_theme_proposals_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_theme_proposals_proposed_at"), ["proposed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("theme_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_theme_proposals_proposed_at"))
        batch_op.drop_index(batch_op.f("ix_theme_proposals_member_id"))
    op.drop_table("theme_proposals")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        for column in ("attendance_recorded_at", "walk_ins", "announced", "sequence", "uid", "status"):
            batch_op.drop_column(column)
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active_from", sa.Date(), nullable=True))
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "meeting_id"),
    )
    op.execute(
        "INSERT INTO attendance (id, member_id, meeting_id, status, updated_at) "
        "SELECT id, member_id, meeting_id, CASE status WHEN 'cancelled' THEN 'excused' ELSE status END, "
        "updated_at FROM registrations"
    )
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registrations_meeting_id"))
    op.drop_table("registrations")
