"""A short word of thanks or assent ("Bedankt!", "Merci", "Thanks, noted"): it asks nothing.

Pure. Answering one of our mails with it changes nothing and gets no reply; on its own it still goes to a
human, who may know what it thanks for.
"""

from __future__ import annotations

import re

from mailflow.core.parsing.text import fold

THANKS = re.compile(
    r"\b(?:bedankt|dank(?:je|jewel|u|uwel)?|merci|thanks?|thx|ty|cheers|top|super|prima|perfect|parfait|"
    r"genoteerd|ontvangen|ok|oke|okay|oki|goed|great|noted|received|recu|entendu|nickel|tof|fijn)\b"
)
QUESTION = re.compile(r"\?")
# More words than this is more than a thank-you: a human reads it.
MAX_WORDS = 15


def acknowledges(text: str) -> bool:
    """Whether the sender's own text is only a short thank-you or assent, asking nothing."""
    folded = fold(text)
    words = re.findall(r"[^\W\d_]+", folded)
    return 0 < len(words) <= MAX_WORDS and bool(THANKS.search(folded)) and not QUESTION.search(folded)
