"""Understanding one email: raw bytes in, a ParsedMessage out. Pure: no network, no database, no clock.

`parse_message` never raises on strange mail; what it cannot read becomes Intent.OTHER with a reason.
`clear_caches` empties the memos that hold words from mail, once a person is forgotten.
"""

from __future__ import annotations

import sys

from mailflow.core.parsing.message import parse_message
from mailflow.core.parsing.result import Intent, ParseContext, ParsedMessage, Person

__all__ = ["Intent", "ParseContext", "ParsedMessage", "Person", "clear_caches", "parse_message"]


def clear_caches() -> None:
    """Forget the words of the mails read so far: names and sentences must not linger after an erase.

    Every memo (functools.lru_cache) of the parsing modules is emptied, so a memo added later is not missed;
    the few that hold only the config are simply filled again.
    """
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith(__name__ + "."):
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)) and hasattr(value, "cache_info"):
                    value.cache_clear()
