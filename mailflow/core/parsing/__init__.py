"""Understanding one email: raw bytes in, a ParsedMessage out. Pure: no network, no database, no clock.

`parse_message` never raises on strange mail; what it cannot read becomes Intent.OTHER with a reason.
`clear_caches` empties the memos that hold words from mail, once a person is forgotten.
"""

from __future__ import annotations

from mailflow.core.parsing import names, people, text
from mailflow.core.parsing.message import parse_message
from mailflow.core.parsing.result import Intent, ParseContext, ParsedMessage, Person

__all__ = ["Intent", "ParseContext", "ParsedMessage", "Person", "clear_caches", "parse_message"]


def clear_caches() -> None:
    """Forget the words of the mails read so far: names and sentences must not linger after an erase.

    (The meeting themes memo in dates.py holds only the config.)
    """
    for cached in (
        text.fold,
        names.tokens_of,
        names.normal_case,
        names.from_display_name,
        names.same_person,
        people._intent_in,
    ):
        cached.cache_clear()
