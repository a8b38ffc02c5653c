"""Understanding one email: raw bytes in, a ParsedMessage out, by the steps a coordinator takes reading it.

Pure: no network, no database, no clock. `parse_message` never raises: what it cannot read becomes
Intent.OTHER with an "unreadable: ..." reason. Reasons name rules, never people.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
from dataclasses import replace
from email.message import Message
from typing import Any, TypedDict

from mailflow.core.parsing import dates
from mailflow.core.parsing import intent as rules
from mailflow.core.parsing.acknowledge import acknowledges
from mailflow.core.parsing.bounce import machine_mail
from mailflow.core.parsing.headers import (
    MAX_HEADERS,
    Headers,
    address_specs,
    addresses_of,
    date_of,
    decode_words,
    header_map,
    message_id_of,
    one_line,
    raw_header,
    references_of,
    sender_from,
    valid_address,
    without_leading_blank,
)
from mailflow.core.parsing.language import language_of, read_language
from mailflow.core.parsing.mime import Body, extract_body
from mailflow.core.parsing.people import read_people
from mailflow.core.parsing.proposals import read_proposal
from mailflow.core.parsing.result import Intent, ParseContext, ParsedMessage, Person
from mailflow.core.parsing.roster import speaks_for_several
from mailflow.core.parsing.sender import sender_facts
from mailflow.core.parsing.structure import FORWARD_SUBJECT, Forwarded, Structure, split_text
from mailflow.core.parsing.text import REPLY_PREFIX, clean_spaces, fold, sentences
from mailflow.core.vocabulary import INSTRUCTION_PHRASES, Instruction

log = logging.getLogger(__name__)

MAX_RAW = 5_000_000  # bytes parsed; past this a mail is read only in part (a flood, not a registration)
MAX_NAME = 200  # characters of a name or organisation; a longer one is no name, and is cut and marked unsure
DATE_INTENTS = (Intent.REGISTER, Intent.CANCEL, Intent.QUESTION)
PERSON_INTENTS = (Intent.REGISTER, Intent.CANCEL, Intent.UNSUBSCRIBE, Intent.ERASE)


class _HeaderFacts(TypedDict):
    """The ParsedMessage fields read from the headers alone, the same whatever the body says."""

    sender: str | None
    sender_name: str | None
    message_id: str | None
    references: tuple[str, ...]
    subject: str
    date: dt.datetime | None
    addressed_to_us: bool


def parse_message(raw: bytes, context: ParseContext) -> ParsedMessage:
    """Read one raw RFC 5322 message. Never raises."""
    try:
        return _parse(bytes(raw), context)
    except Exception as exc:  # noqa: BLE001 - odd mail is normal here; it goes to review, never crashes the batch
        log.debug("unreadable message: %s", type(exc).__name__)
        return ParsedMessage(Intent.OTHER, confidence=0.0, reasons=(f"unreadable: {type(exc).__name__}",))


def _parse(raw: bytes, context: ParseContext) -> ParsedMessage:
    message = email.message_from_bytes(without_leading_blank(raw[:MAX_RAW]), policy=email.policy.compat32)
    headers = header_map(message)
    sender, display, sender_problem = sender_from(message, headers)
    sender_name = one_line(display)[:MAX_NAME] if display else None
    subject = decode_words(raw_header(headers, "Subject"))
    sent = date_of(headers)
    facts: _HeaderFacts = {
        "sender": sender,
        "sender_name": sender_name or None,
        "message_id": message_id_of(headers),
        "references": references_of(headers),
        "subject": subject,
        "date": sent,
        "addressed_to_us": any(
            a in context.own_addresses for h in ("To", "Cc") for a in _addresses(message, headers, h)
        ),
    }
    body = extract_body(message)
    text = clean_spaces(body.text)
    structure = _with_attached(split_text(text, forward_subject=bool(FORWARD_SUBJECT.match(subject))), body)
    reasons = ["very large message: read in part"] if len(raw) > MAX_RAW else []
    # A From nobody can answer safely is said first, so the review folder and the digest say it first.
    first = [sender_problem] if sender_problem else []

    # 1. What the headers, our own address, an out-of-office text or spam phrases settle:
    # nothing more to read.
    if rules.our_loop([str(v) for v in _all(message, headers, "X-Loop")], context.own_addresses):
        reading: rules.Reading | None = rules.Reading(
            Intent.AUTO_REPLY, 1.0, ["auto_reply: our own X-Loop header"]
        )
    else:
        reading = _settled(headers, body, structure, sender, sender_name, subject, context)
    if reading is None and structure.footer and not _answers_us(facts["references"], context):
        # Bulk mail with its list headers stripped (as spam arrives) still ends in its footer; a mail that
        # answers ours may quote our own "reply X to leave" and is read on.
        reading = rules.Reading(Intent.OTHER, 0.8, ["other: a newsletter or list footer: bulk mail"])
    if reading is not None:
        return ParsedMessage(
            reading.intent,
            language=language_of(structure.body or structure.own or text),
            confidence=reading.confidence,
            reasons=tuple(first + reading.reasons + reasons),
            **facts,
        )

    # 2. The sender's own sentences (or, when they say nothing, the forwarded mail's).
    body_sentences = sentences(structure.body)
    evidence: dict[str, list[str]] = {}
    scores, questions, score_reasons = rules.score_sentences(body_sentences, subject, evidence)
    reading = rules.decide(scores, questions)
    reading.reasons += score_reasons
    if "intent from the subject only" in score_reasons and not _leave_subject(subject):
        reading.confidence = min(reading.confidence, 0.6)  # a subject of one word: worth a human look
    reading, extra = _proposal(reading, body_sentences, subject)
    if reading.intent in (Intent.OTHER, Intent.QUESTION) and structure.forwards:
        forwarded_sentences = [s for f in structure.forwards for s in sentences(split_text(f.text).body)]
        forwarded = rules.decide(rules.score_sentences(forwarded_sentences, "")[0], questions)
        if forwarded.intent in (Intent.REGISTER, Intent.CANCEL):
            reading = forwarded
            reading.reasons.append("request read from the forwarded mail")

    # 3. The meeting it names; a registration for a day we do not hold is someone else's event.
    meeting = asked = None
    if reading.intent in DATE_INTENTS:
        is_reply = bool(REPLY_PREFIX.match(subject)) or bool(raw_header(headers, "In-Reply-To").strip())
        focus = "\n".join(evidence.get(reading.intent.value, ()))
        date_reading = _meeting(structure, subject, is_reply, sent, context, focus)
        if reading.intent in (Intent.REGISTER, Intent.CANCEL) and rules.names_other_event(
            structure.body,
            "" if is_reply else subject,
            date_reading.meeting is not None,
            date_reading.foreign_date,
        ):
            reading = rules.Reading(Intent.OTHER, 0.6, ["other: names an event that is not ours"])
        elif date_reading.meeting:
            meeting = date_reading.meeting
            reasons.append(f"meeting by {date_reading.how}")
        elif (
            reading.intent is Intent.QUESTION
            and not is_reply
            and not date_reading.foreign_date
            and not rules.about_the_network(subject + "\n" + structure.own)
        ):
            reading = rules.Reading(Intent.OTHER, 0.6, ["other: a question about something else"])
        asked = None if meeting else date_reading.asked  # a day we hold no meeting on: the reply says so

    # 4. The people it is about.
    people: list[Person] = []
    people_reasons: list[str] = []
    if reading.intent in PERSON_INTENTS:
        info = sender_facts(
            structure.body, structure.signature, sender, sender_name, body.vcards, context, body_sentences
        )
        cc = addresses_of(message, "Cc") if "cc" in headers else []
        people, people_reasons = read_people(
            reading.intent,
            structure.body,
            structure.signature,
            info,
            structure.forwards,
            cc,
            context,
            body_sentences,
        )
    language_text = structure.body or (structure.forwards[0].text if structure.forwards else text)
    language, language_clear = read_language(language_text)
    bounded = tuple(_within_limits(person) for person in people)
    if bounded != tuple(people):
        reasons.append("a name, organisation or address was too long or malformed")
    return ParsedMessage(
        reading.intent,
        people=bounded,
        meeting_date=meeting,
        asked_date=asked,
        language=language,
        language_clear=language_clear,
        about_network=rules.about_the_network(subject + "\n" + structure.own),
        acknowledgement=reading.intent is Intent.OTHER and acknowledges(structure.body),
        for_several=speaks_for_several(structure.body),
        has_question=reading.has_question,
        confidence=reading.confidence,
        reasons=tuple(dict.fromkeys(first + reading.reasons + people_reasons + reasons)),
        extra=extra if reading.intent in (Intent.PROPOSE, Intent.REGISTER, Intent.CANCEL) else {},
        **facts,
    )


def _proposal(
    reading: rules.Reading, body_sentences: list[str], subject: str
) -> tuple[rules.Reading, dict[str, str]]:
    """A theme proposed for a coming meeting. A mail that asks nothing else becomes a proposal; a
    registration or cancellation stays one and carries the theme along (`extra["theme"]`), so that it is
    answered once and the proposal is still kept. The sentence that proposes ("kunnen we het eens hebben
    over ...?") asks the coordinator nothing; other questions still do.
    """
    if reading.intent not in (Intent.REGISTER, Intent.CANCEL, Intent.QUESTION, Intent.OTHER):
        return reading, {}
    if reading.intent is Intent.OTHER and reading.scores.get("list_mail"):
        return reading, {}  # a newsletter's "suggest a topic" is no member's proposal
    proposal = read_proposal(body_sentences, subject)
    if proposal is None:
        return reading, {}
    extra = {"theme": proposal.theme}
    if reading.has_question and proposal.sentences:
        rest = [s for number, s in enumerate(body_sentences) if number not in proposal.sentences]
        reading.has_question = rules.score_sentences(rest, "")[1] > 0
    if reading.intent in (Intent.REGISTER, Intent.CANCEL):
        reading.reasons.append("also proposes a theme")
        return reading, extra
    sure = 0.75 if proposal.from_subject else 0.85
    return rules.Reading(
        Intent.PROPOSE,
        sure,
        ["propose: proposes a theme for a meeting"],
        reading.has_question,
        reading.scores,
    ), extra


def _within_limits(person: Person) -> Person:
    """The person as the database can keep them and a reply can address them;
    marked unsure where they were not.

    A name or organisation loses its control characters (NUL, which PostgreSQL refuses in text, and line
    breaks) and is cut at MAX_NAME; an address from the body, a Cc or a vCard that is not one plain addr-spec
    is dropped (the sender's own address serves, as for anyone named without one).
    """
    name = one_line(person.name)[:MAX_NAME].strip()
    organisation = one_line(person.organisation or "")[:MAX_NAME].strip() or None
    email = person.email if person.email is None or valid_address(person.email) else None
    if (name, organisation, email) == (person.name, person.organisation, person.email):
        return person
    return replace(
        person, name=name, organisation=organisation, email=email, confidence=min(person.confidence, 0.5)
    )


def _settled(
    headers: Headers,
    body: Body,
    structure: Structure,
    sender: str | None,
    sender_name: str | None,
    subject: str,
    context: ParseContext,
) -> rules.Reading | None:
    """Bounce, auto-reply, our own mail coming back, or spam: decided before reading any sentence."""
    reading = rules.header_intent(headers, body, sender, sender_name, subject)
    if reading is None or reading.intent is Intent.OTHER:
        # No header says a machine wrote it, or only list headers do (a bounce of a list post keeps them).
        machine = machine_mail(
            headers,
            structure.own,
            sender,
            sender_name,
            subject,
            bool(REPLY_PREFIX.match(subject) or FORWARD_SUBJECT.match(subject)),
        )
        if machine is not None and (reading is None or machine.bounce):
            intent = Intent.BOUNCE if machine.bounce else Intent.AUTO_REPLY
            reading = rules.Reading(intent, machine.confidence, [machine.reason])
    if reading is None and not headers:
        # Every MTA adds Received and Return-Path: text with no header block is a dump or a log, not mail.
        reading = rules.Reading(Intent.OTHER, 0.9, ["other: no header block: not a mail as sent"])
    if reading is None and sender and sender in context.own_addresses:
        reading = rules.Reading(Intent.OTHER, 0.9, ["other: sent from our own address"])
    if reading is None and rules.auto_reply_text(structure.body or structure.own):
        # RFC 3834 asks responders for Auto-Submitted, but client-side rules ("Afwezig:") often send none.
        reading = rules.Reading(Intent.AUTO_REPLY, 0.8, ["auto_reply: out-of-office text"])
    if reading is None and rules.spam_score(subject + "\n" + structure.own) >= 2:
        reading = rules.Reading(Intent.OTHER, 0.8, ["other: spam or phishing phrases"])
    if reading is None and sender and rules.NO_REPLY_SENDERS.match(sender):
        reading = rules.Reading(Intent.AUTO_REPLY, 0.9, ["auto_reply: a no-reply address (RFC 3834 2)"])
    return reading


def _with_attached(structure: Structure, body: Body) -> Structure:
    """A message forwarded as an attachment counts as a forward."""
    if not body.attached:
        return structure
    extra = tuple(
        Forwarded(
            from_header=a.from_header,
            subject=decode_words(a.subject),
            text=split_text(clean_spaces(a.text)).own,
        )
        for a in body.attached
    )
    return replace(structure, forwards=structure.forwards + extra)


def _lacks(message: Message, headers: Headers, name: str) -> bool:
    """Whether the mail has no such header: `headers` holds every header's name when there are not more than
    it reads (a search of the message itself reads every header line)."""
    return name.lower() not in headers and len(message) <= MAX_HEADERS


def _all(message: Message, headers: Headers, name: str) -> list[Any]:
    """`message.get_all(name)` as a list."""
    return [] if _lacks(message, headers, name) else message.get_all(name) or []


def _addresses(message: Message, headers: Headers, name: str) -> list[str]:
    """`address_specs(message, name)`."""
    return [] if _lacks(message, headers, name) else address_specs(message, name)


def _answers_us(references: tuple[str, ...], context: ParseContext) -> bool:
    """Whether the mail names one of our own mails in In-Reply-To or References (our Message-IDs' domain)."""
    own = context.own_domain
    return bool(own) and any(ref.lower().endswith(f"@{own}>") for ref in references)


def _meeting(
    structure: Structure,
    subject: str,
    is_reply: bool,
    sent: dt.datetime | None,
    context: ParseContext,
    focus: str = "",
) -> dates.DateReading:
    """The meeting named in the sender's words (first the clauses that carry the request, `focus`), the
    subject and forwards; for a reply, else in the quoted mail."""
    sources = [dates.Source(focus, 2.0), dates.Source(structure.body, 1.0)]
    sources.append(dates.Source(subject, 0.9 if is_reply else 1.0))
    sources += [dates.Source(f.text, 0.8) for f in structure.forwards]
    sources += [dates.Source(f.subject, 0.8) for f in structure.forwards]
    reading = dates.read_meeting(sources, context.meetings, sent)
    if reading.meeting is None and is_reply and structure.quoted:
        quoted = dates.read_meeting([dates.Source(structure.quoted, 0.8)], context.meetings, sent)
        if quoted.meeting is not None:
            return dates.DateReading(quoted.meeting, reading.foreign_date, "the mail replied to")
    return reading


# The subject our List-Unsubscribe header writes (RFC 2369: a mail client's "unsubscribe" sends it, often
# with no text at all): our own words for leaving, as sure as a sentence saying them.
_LEAVE_SUBJECTS = frozenset(fold(phrases[Instruction.LEAVE]) for phrases in INSTRUCTION_PHRASES.values())


def _leave_subject(subject: str) -> bool:
    return " ".join(fold(REPLY_PREFIX.sub("", subject)).split()) in _LEAVE_SUBJECTS
