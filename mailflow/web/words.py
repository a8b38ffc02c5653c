"""The words the page shows for the values mailflow stores (statuses, kinds of mail, readings), in the
coordinator's language. Every template gets them as `words`."""

from __future__ import annotations

import babel

from mailflow.settings import LANGUAGES
from mailflow.web.desk import desk


def words() -> dict[str, dict[str, str]]:
    """{"registration": {"registered": ...}, "meeting": ..., "outbox": ..., "kind": ..., "intent": ...,
    "mail": ..., "member": ..., "language": {"nl": "Nederlands", ...}}."""
    t = desk().translations
    p = t.pgettext
    return {
        "registration": {
            "registered": str(p("registration status", "registered")),
            "waiting": str(p("registration status", "waiting")),
            "cancelled": str(p("registration status", "cancelled")),
        },
        "meeting": {
            "confirmed": str(p("meeting status", "confirmed")),
            "cancelled": str(p("meeting status", "cancelled")),
        },
        "outbox": {
            "pending": str(p("outbox status", "waiting to go")),
            "sent": str(p("outbox status", "sent")),
            "failed": str(p("outbox status", "refused")),
            "expired": str(p("outbox status", "expired")),
            "held": str(p("outbox status", "held")),
            "cancelled": str(p("outbox status", "no longer owed")),
            "missed": str(p("outbox status", "missed")),
            "skipped": str(p("outbox status", "not needed")),
        },
        "kind": {
            "register": str(p("mail kind", "confirmation")),
            "waitlist": str(p("mail kind", "waiting list")),
            "cancel": str(p("mail kind", "cancellation")),
            "unsubscribe": str(p("mail kind", "leaving")),
            "erase": str(p("mail kind", "erasure")),
            "reminder": str(p("mail kind", "reminder")),
            "promoted": str(p("mail kind", "place from the waiting list")),
            "notice": str(p("mail kind", "notice to the coordinator")),
            "digest": str(p("mail kind", "digest")),
            "invitation": str(p("mail kind", "invitation")),
            "update": str(p("mail kind", "meeting changed")),
            "meeting_cancelled": str(p("mail kind", "meeting cancelled")),
            "followup": str(p("mail kind", "follow-up")),
            "propose": str(p("mail kind", "thanks for a theme")),
        },
        "intent": {
            "register": str(p("intent", "register")),
            "cancel": str(p("intent", "cancel")),
            "unsubscribe": str(p("intent", "leave the network")),
            "erase": str(p("intent", "erase their data")),
            "question": str(p("intent", "a question")),
            "propose": str(p("intent", "proposes a theme")),
            "auto_reply": str(p("intent", "automatic reply")),
            "bounce": str(p("intent", "bounce")),
            "other": str(p("intent", "something else")),
        },
        "mail": {
            "processed": str(p("mail status", "dealt with")),
            "review": str(p("mail status", "to review")),
            "quarantined": str(p("mail status", "quarantined")),
            "failed": str(p("mail status", "failed")),
        },
        "member": {
            "active": str(p("member status", "member")),
            "left": str(p("member status", "left")),
        },
        "language": {
            code: babel.Locale.parse(code).get_display_name(desk().language) or code for code in LANGUAGES
        },
    }
