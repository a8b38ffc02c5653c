"""The queries about themes members proposed for coming meetings, as functions of a Session passed in.

A proposal belongs to the member who made it and is deleted with them (ON DELETE CASCADE); the mail it came
in may be deleted before it (inbound_id SET NULL).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from mailflow.adapters.db.models import InboundMessage, Member, ThemeProposal

MAX_TEXT = 1000  # theme_proposals.text


def add_proposal(
    session: Session, member: Member, inbound: InboundMessage | None, text: str, now: dt.datetime
) -> ThemeProposal:
    proposal = ThemeProposal(member=member, inbound_id=inbound.id if inbound else None, text=text[:MAX_TEXT])
    proposal.proposed_at = now
    session.add(proposal)
    return proposal


def proposals_between(session: Session, since: dt.datetime | None, until: dt.datetime) -> list[ThemeProposal]:
    """The proposals made after `since` (None: ever) and no later than `until`, newest first, with the
    member who made each."""
    query = sa.select(ThemeProposal).where(ThemeProposal.proposed_at <= until)
    if since is not None:
        query = query.where(ThemeProposal.proposed_at > since)
    query = query.options(joinedload(ThemeProposal.member))
    return list(session.scalars(query.order_by(ThemeProposal.proposed_at.desc(), ThemeProposal.id.desc())))


def delete_proposals_from(session: Session, address: str) -> int:
    """Delete the proposals of the members at an address, and any that came in a mail from it.
    Returns how many."""
    members = sa.select(Member.id).where(Member.email == address)
    mails = sa.select(InboundMessage.id).where(InboundMessage.sender == address)
    result = session.execute(
        sa.delete(ThemeProposal).where(
            sa.or_(ThemeProposal.member_id.in_(members), ThemeProposal.inbound_id.in_(mails))
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
