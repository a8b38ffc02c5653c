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
    return {
        "registration": {
            "registered": str(t.pgettext("registration status", "registered")),
            "waiting": str(t.pgettext("registration status", "waiting")),
            "cancelled": str(t.pgettext("registration status", "cancelled")),
        },
        "meeting": {
            "confirmed": str(t.pgettext("meeting status", "confirmed")),
            "cancelled": str(t.pgettext("meeting status", "cancelled")),
        },
        "outbox": {
            "pending": str(t.pgettext("outbox status", "waiting to go")),
            "sent": str(t.pgettext("outbox status", "sent")),
            "failed": str(t.pgettext("outbox status", "refused")),
            "expired": str(t.pgettext("outbox status", "expired")),
            "held": str(t.pgettext("outbox status", "held")),
            "cancelled": str(t.pgettext("outbox status", "no longer owed")),
            "missed": str(t.pgettext("outbox status", "missed")),
            "skipped": str(t.pgettext("outbox status", "not needed")),
        },
        "kind": {
            "register": str(t.pgettext("mail kind", "confirmation")),
            "waitlist": str(t.pgettext("mail kind", "waiting list")),
            "cancel": str(t.pgettext("mail kind", "cancellation")),
            "unsubscribe": str(t.pgettext("mail kind", "leaving")),
            "erase": str(t.pgettext("mail kind", "erasure")),
            "reminder": str(t.pgettext("mail kind", "reminder")),
            "promoted": str(t.pgettext("mail kind", "place from the waiting list")),
            "notice": str(t.pgettext("mail kind", "notice to the coordinator")),
            "digest": str(t.pgettext("mail kind", "digest")),
            "invitation": str(t.pgettext("mail kind", "invitation")),
            "update": str(t.pgettext("mail kind", "meeting changed")),
            "meeting_cancelled": str(t.pgettext("mail kind", "meeting cancelled")),
            "followup": str(t.pgettext("mail kind", "follow-up")),
            "propose": str(t.pgettext("mail kind", "thanks for a theme")),
        },
        "intent": {
            "register": str(t.pgettext("intent", "register")),
            "cancel": str(t.pgettext("intent", "cancel")),
            "unsubscribe": str(t.pgettext("intent", "leave the network")),
            "erase": str(t.pgettext("intent", "erase their data")),
            "question": str(t.pgettext("intent", "a question")),
            "propose": str(t.pgettext("intent", "proposes a theme")),
            "auto_reply": str(t.pgettext("intent", "automatic reply")),
            "bounce": str(t.pgettext("intent", "bounce")),
            "other": str(t.pgettext("intent", "something else")),
        },
        "mail": {
            "processed": str(t.pgettext("mail status", "dealt with")),
            "review": str(t.pgettext("mail status", "to review")),
            "quarantined": str(t.pgettext("mail status", "quarantined")),
            "failed": str(t.pgettext("mail status", "failed")),
        },
        "member": {
            "active": str(t.pgettext("member status", "member")),
            "left": str(t.pgettext("member status", "left")),
        },
        "language": {
            code: babel.Locale.parse(code).get_display_name(desk().language) or code for code in LANGUAGES
        },
    }
