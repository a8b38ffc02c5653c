"""Who a mail means: the members it names or answers for, found among those we hold or added as new ones.

Two people sharing one address are told apart by the names a mail gives and by the mail of ours it answers.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from mailflow.adapters.db import models, queries
from mailflow.core.parsing import ParsedMessage, Person
from mailflow.core.parsing.result import UNSURE
from mailflow.core.vocabulary import EventKind, MemberStatus
from mailflow.usecases.context import Thread


def writer_only(parsed: ParsedMessage) -> bool:
    """The mail names nobody but its writer as the headers give them (From's name, or the address's own
    words): an answer then means whom our mail meant, which tells apart two people sharing one address."""
    local = (parsed.sender or "").partition("@")[0]
    writer = {
        queries.name_key(parsed.sender_name or ""),
        queries.name_key("".join(c for c in local if not c.isdigit())),
    }
    return all(queries.name_key(p.name) in writer for p in parsed.people)


def meant_in_thread(parsed: ParsedMessage, thread: Thread) -> list[models.Member]:
    """Whom an answer that names nobody but its writer means: the people of our mail. When that mail named
    several people sharing the address, the writer alone, if the From name tells which of them writes and
    the text does not speak for more ("we komen allebei" means them all)."""
    members = list(thread.members)
    if len(members) > 1 and not parsed.for_several and parsed.sender_name:
        writer = set(queries.name_key(parsed.sender_name).split())
        own = [m for m in members if writer and set(m.name_key.split()) <= writer]
        if len(own) == 1:
            return own
    return members


def find_or_create_member(
    db: Session, person: Person, parsed: ParsedMessage, now: dt.datetime, notes: list[str]
) -> models.Member:
    """The member this person is, created when new. What we hold is never replaced by nothing, nor by a
    different reading we are unsure of: that is kept as it was and noted for the coordinator."""
    assert parsed.sender is not None
    email = (person.email or parsed.sender).lower()
    key = queries.name_key(person.name)
    at_address = queries.members_at(db, email)
    same_name = [m for m in at_address if m.name_key == key]
    if same_name:
        member = same_name[0]
    elif len(at_address) == 1 and email != parsed.sender and person.email:
        member = at_address[0]  # the person's own address: a new spelling of the same person
    elif (
        len(at_address) == 1
        and person.email == parsed.sender
        and len(parsed.people) <= 1
        and _same_writer(at_address[0], key)
    ):
        # the writer again, spelling their name otherwise ("Anna" then "Anna Peeters"); a colleague they
        # name, or "Bart Peeters" from the mailbox Anna Peeters shares with him, is someone else
        member = at_address[0]
    else:
        member = models.Member(email=email, created_at=now, status=MemberStatus.ACTIVE, undeliverable=False)
        db.add(member)
        queries.record_event(db, EventKind.REGISTERED, now, member=member)
        member.name, member.name_key, member.organisation = person.name, key, person.organisation
        member.unsure = person.confidence < UNSURE or parsed.confidence < UNSURE
        return member
    unsure = person.confidence < UNSURE or parsed.confidence < UNSURE
    organisation = person.organisation or member.organisation
    differs = member.name_key != key or queries.name_key(organisation or "") != queries.name_key(
        member.organisation or ""
    )
    if differs and unsure:
        notes.append("reads a name or organisation other than the one held, unsure: kept what we hold")
        return member
    member.name, member.name_key, member.organisation = person.name, key, organisation
    member.unsure = unsure
    return member


def _same_writer(member: models.Member, key: str) -> bool:
    """Whether a name may be the member's own written otherwise: one name's words hold the other's, or what
    we hold was an unsure reading."""
    held, read = set(member.name_key.split()), set(key.split())
    return member.unsure or held <= read or read <= held


def members_meant(db: Session, parsed: ParsedMessage, thread: Thread | None) -> list[models.Member]:
    """The members a cancel or unsubscribe is about: those it names; when it names only its writer and
    answers one of our mails, the people of that mail (two people sharing an address are told apart by the
    mail they answer); else everyone at the sender's address."""
    assert parsed.sender is not None
    if thread is not None and thread.members and writer_only(parsed):
        return meant_in_thread(parsed, thread)
    meant: list[models.Member] = []
    for person in parsed.people:
        keys = queries.name_key(person.name)
        candidates = queries.members_at(db, (person.email or parsed.sender).lower())
        meant += [m for m in candidates if m.name_key == keys and m not in meant]
    return meant or queries.members_at(db, parsed.sender)
