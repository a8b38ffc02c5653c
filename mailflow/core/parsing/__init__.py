"""Understanding one email: raw bytes in, a ParsedMessage out. Pure: no network, no database, no clock.

`parse_message` never raises on strange mail; what it cannot read becomes Intent.OTHER with a reason.
"""

from __future__ import annotations

from mailflow.core.parsing.message import parse_message
from mailflow.core.parsing.result import Intent, ParseContext, ParsedMessage, Person

__all__ = ["Intent", "ParseContext", "ParsedMessage", "Person", "parse_message"]
