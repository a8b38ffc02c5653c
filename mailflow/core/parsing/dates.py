"""Which configured meeting a mail names: by date ("13/1", "10 mars"), by month ("in januari"), by theme
("over onderwijs"), or relatively ("morgenavond", "volgende week") against the Date header.

Pure: no network, no clock: "now" is the mail's own Date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from mailflow.core.parsing.text import Keywords, fold
from mailflow.settings import Meeting

# fmt: off
MONTHS = {
    "januari": 1, "februari": 2, "maart": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7, "augustus": 8,
    "september": 9, "oktober": 10, "november": 11, "december": 12, "janvier": 1, "fevrier": 2, "mars": 3,
    "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "decembre": 12, "january": 1, "february": 2, "march": 3, "may": 5, "june": 6, "july": 7, "august": 8,
    "october": 10,
}
# fmt: on
# fmt: off
SHORT_MONTHS = {
    "jan": 1, "feb": 2, "febr": 2, "fev": 2, "mrt": 3, "mar": 3, "apr": 4, "avr": 4, "jun": 6, "jul": 7,
    "juil": 7, "aug": 8, "sep": 9, "sept": 9, "okt": 10, "oct": 10, "nov": 11, "dec": 12,
}
# fmt: on
# Month words that are also ordinary words ("I may come", "mars" the planet) count only after a preposition.
AMBIGUOUS_MONTHS = {"may", "march", "mars", "mei"}
_MONTH_WORDS = "|".join(sorted(MONTHS, key=len, reverse=True))
_ALL_MONTH_WORDS = "|".join(sorted({**MONTHS, **SHORT_MONTHS}, key=len, reverse=True))
# Day-first patterns start with their digits (no \\b, no look-behind) so the engine jumps from digit to digit;
# what comes before the number is checked afterwards (`_clean_start`).
DAY_MONTH = re.compile(
    rf"(\d{{1,2}})(?:e|er|ste|de|st|nd|rd|th)?\s+({_ALL_MONTH_WORDS})\b\.?(?:\s+(\d{{4}}))?"
)
NUMERIC = re.compile(r"(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2}|\d{4}))?(?![\d/:-])")
# "10.03" or "10.3.2026", but not a time ("19.30") or a decimal:
# the month must exist and no "u", "uur", "h" follow.
DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.?(\d{4})?(?![\d.,:]|\s*(?:u\b|uur|h\b|%|€|eur))")
ISO = re.compile(r"(20\d\d)-(\d\d)-(\d\d)\b")
MONTH_ALONE = Keywords(_MONTH_WORDS, suffix=r"\b")
MONTH_DAY = Keywords(rf"(?:{_MONTH_WORDS})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?:uur|u\b|h\b|:))")
_DIGIT = re.compile(r"\d")
_LAST_WORD = re.compile(r"([\w']+)\s*$")
# A month after these words is not a meeting: "sinds september", "tot eind december", "vorige maart".
# fmt: off
NOT_MEETING_BEFORE = {
    "sinds", "sedert", "sinsdien", "depuis", "since", "vorige", "vorig", "last", "eind", "begin", "tot",
    "until", "till", "jusqu", "jusqu'en", "jusqu'a", "jusqu'au", "fin", "debut", "end", "midden", "half",
    "mi", "early", "late", "afgelopen", "dernier", "geboren", "ne", "niet", "not",
}
# fmt: on
# fmt: off
MONTH_PREPOSITIONS = {
    "in", "voor", "op", "van", "en", "de", "for", "of", "during", "tijdens", "vanaf", "from", "au", "pour",
    "mois", "d'", "naar", "the", "sessie", "seance", "session",
}
# fmt: on
SESSION_WORDS = re.compile(
    r"\b(?:sessie|sessies|leernetwerk|bijeenkomst|avond|seance|reseau|session|meeting|"
    r"network|thema|theme|topic|onderwerp|deelnemen|inschrijven|inscrire|register|join)\b"
)
# Theme words in the three languages; a configured theme matches when the mail names one of its distinctive
# words.
# fmt: off
THEME_SYNONYMS = {
    "medische": ("medisch", "medische", "medical", "medicale", "medicaux", "medecin", "dmh", "amu"),
    "medisch": ("medisch", "medische", "medical", "medicale", "medicaux", "dmh", "amu"),
    "onderwijs": (
        "onderwijs", "school", "scholen", "schools", "education", "enseignement", "ecole", "scolaire",
        "schooling", "okan",
    ),
    "juridische": (
        "juridisch", "juridische", "legal", "juridique", "rechtshulp", "advocaat", "avocat", "lawyer",
    ),
    "juridisch": ("juridisch", "juridische", "legal", "juridique", "rechtshulp"),
    "terugkeer": ("terugkeer", "return", "retour", "terugkeren"),
    "vrijwillige": ("vrijwillige terugkeer", "voluntary return", "retour volontaire"),
    "huisvesting": ("huisvesting", "wonen", "woning", "housing", "logement", "huurwoning", "opvang"),
    "arbeid": ("arbeid", "werk", "work", "travail", "emploi"),
    "gezondheid": ("gezondheid", "health", "sante", "zorg"),
    "psychisch": ("psychisch", "mental", "mentale", "psychique", "geestelijke"),
}
# fmt: on
# fmt: off
GENERIC_THEME_WORDS = {
    "toegang", "tot", "hulp", "bijstand", "dringende", "en", "van", "de", "het", "voor", "over", "access",
    "aid", "aide", "help", "acces", "urgent", "urgente",
}
# fmt: on
RELATIVE = Keywords(
    r"(?:morgen(?:avond|namiddag)?|overmorgen|vanavond|gisteren(?:avond)?|eergisteren|volgende week|"
    r"komende week|deze week|next week|this week|tomorrow|tonight|yesterday|demain(?: soir)?|ce soir|"
    r"hier soir|la semaine prochaine|semaine prochaine|cette semaine|volgende dinsdag|komende dinsdag|"
    r"next tuesday|mardi prochain|deze dinsdag|this tuesday|ce mardi|"
    # the meeting's weekday alone is the coming one ("ik kom dinsdag"), unless a date follows it
    r"dinsdag(?!(?:,? \d| de \d))|mardi(?!(?:,? \d| le \d))|tuesday(?!(?:,? \d|,? the \d))"
    r")",
    suffix=r"\b",
)
# A day of the month without its month: "on the 10th", "de 10de", "le 10".
DAY_ONLY = re.compile(
    r"\b(?:the|de|le|op de)\s+(\d{1,2})(?:st|nd|rd|th|de|ste|e|er)?\b(?![\s/.-]*(?:\d|[a-z]{3}))"
)


@dataclass(frozen=True)
class Source:
    """A piece of text to look for a meeting in, and how much it counts."""

    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class DateReading:
    meeting: dt.date | None
    foreign_date: bool  # a day is named that is no meeting of ours (another event?)
    how: str = ""  # "date", "month", "theme", "relative": for reasons
    asked: dt.date | None = None  # the first day named that is no meeting of ours


def _year_for(month: int, day: int, sent: dt.date | None) -> dt.date | None:
    """The first (month, day) on or after a week before the mail was sent."""
    base = sent or dt.date.today()
    for year in (base.year, base.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            return None
        if candidate >= base - dt.timedelta(days=7):
            return candidate
    return None


def _session_near(text: str, start: int, end: int) -> bool:
    return bool(SESSION_WORDS.search(text[max(0, start - 45) : end + 45]))


def _theme_words(theme: str) -> list[str]:
    words: list[str] = []
    folded = fold(theme)
    for word in re.findall(r"[\w'-]+", folded):
        if word in GENERIC_THEME_WORDS or len(word) < 4:
            continue
        words.extend(THEME_SYNONYMS.get(word, (word,)))
    return words


@lru_cache(maxsize=32)
def _themes(meetings: tuple[Meeting, ...]) -> tuple[Keywords | None, dict[str, dt.date]]:
    """One keyword family for every configured theme's words (built once per calendar),
    and word -> meeting date."""
    days: dict[str, dt.date] = {}
    for meeting in meetings:
        for word in _theme_words(meeting.theme):
            days.setdefault(word, meeting.date)
    if not days:
        return None, days
    alternatives = "|".join(re.escape(w) for w in sorted(days, key=len, reverse=True))
    return Keywords(alternatives, suffix=r"(?:e|s|es)?\b"), days


def _month_named(
    match: re.Match[str],
    folded: str,
    covered: list[tuple[int, int]],
    meetings: Sequence[Meeting],
    sent_day: dt.date | None,
    weight: float,
    add: Callable[[dt.date, float, str], None],
) -> None:
    """Count a month name ("in januari", "en mai") for the meeting in that month,
    unless it says "sinds"/"tot"."""
    if any(s <= match.start() < e for s, e in covered):
        return
    previous = _LAST_WORD.search(folded, max(0, match.start() - 30), match.start())
    before, word = (previous[1] if previous else ""), match.group(0)
    if before in NOT_MEETING_BEFORE or before.endswith("'") and before[:-1] in NOT_MEETING_BEFORE:
        return
    if word in AMBIGUOUS_MONTHS and before not in MONTH_PREPOSITIONS:
        return
    month = MONTHS[word]
    candidates = sorted(m.date for m in meetings if m.date.month == month)
    if not candidates:
        return
    upcoming = [d for d in candidates if sent_day is None or d >= sent_day - dt.timedelta(days=40)]
    near = _session_near(folded, match.start(), match.end())
    add((upcoming or candidates)[0], (3.0 if near else 1.5) * weight, "month")


def _relative_range(phrase: str, sent: dt.date) -> tuple[dt.date, dt.date]:
    monday = sent - dt.timedelta(days=sent.weekday())
    if phrase.startswith(("overmorgen",)):
        return sent + dt.timedelta(days=2), sent + dt.timedelta(days=2)
    if phrase.startswith(("morgen", "tomorrow", "demain")):
        return sent + dt.timedelta(days=1), sent + dt.timedelta(days=1)
    if phrase.startswith(("vanavond", "tonight", "ce soir")):
        return sent, sent
    if phrase.startswith(("eergisteren",)):
        return sent - dt.timedelta(days=2), sent - dt.timedelta(days=2)
    if phrase.startswith(("gisteren", "yesterday", "hier soir")):
        return sent - dt.timedelta(days=1), sent - dt.timedelta(days=1)
    if "dinsdag" in phrase or "tuesday" in phrase or "mardi" in phrase:
        ahead = (1 - sent.weekday()) % 7 or 7
        if phrase.startswith(("deze", "this", "ce ")) and sent.weekday() <= 1:
            ahead = 1 - sent.weekday()
        return sent + dt.timedelta(days=ahead), sent + dt.timedelta(days=ahead)
    if phrase.startswith(("deze week", "this week", "cette semaine")):
        return sent, monday + dt.timedelta(days=6)
    return monday + dt.timedelta(days=7), monday + dt.timedelta(days=13)  # next week


def _clean_start(folded: str, start: int, forbidden: str) -> bool:
    return start == 0 or not (folded[start - 1].isalnum() or folded[start - 1] in forbidden)


def _explicit_dates(folded: str, sent: dt.date | None) -> list[tuple[dt.date, int, int]]:
    """(date, start, end) for every day named with its month."""
    found: list[tuple[dt.date, int, int]] = []
    for match in ISO.finditer(folded):
        if _clean_start(folded, match.start(), ""):
            try:
                found.append(
                    (dt.date(int(match[1]), int(match[2]), int(match[3])), match.start(), match.end())
                )
            except ValueError:
                pass
    for match in DAY_MONTH.finditer(folded):
        month = MONTHS.get(match[2]) or SHORT_MONTHS.get(match[2])
        day = _date(month, int(match[1]), match[3], sent) if _clean_start(folded, match.start(), "") else None
        if day:
            found.append((day, match.start(), match.end()))
    for match in MONTH_DAY.finditer(folded):
        day = _date(MONTHS[match.group(0).split()[0]], int(match[1]), None, sent)
        if day and not any(s <= match.start() < e for _, s, e in found):
            found.append((day, match.start(), match.end()))
    for pattern, forbidden in ((NUMERIC, "/.:-"), (DOTTED, ".,:")):
        for match in pattern.finditer(folded):
            if not 1 <= int(match[2]) <= 12 or not _clean_start(folded, match.start(), forbidden):
                continue
            day = _date(int(match[2]), int(match[1]), match[3], sent)
            if day:
                found.append((day, match.start(), match.end()))
    return found


def _date(month: int | None, day: int, year: str | None, sent: dt.date | None) -> dt.date | None:
    if not month or not 1 <= day <= 31:
        return None
    if year:
        number = int(year)
        number = number + 2000 if number < 100 else number
        try:
            return dt.date(number, month, day)
        except ValueError:
            return None
    return _year_for(month, day, sent)


def read_meeting(
    sources: Sequence[Source], meetings: Sequence[Meeting], sent: dt.datetime | None
) -> DateReading:
    """The meeting the texts name most strongly (None when none is named), and whether a foreign day is
    named."""
    sent_day = sent.date() if sent else None
    scores: dict[dt.date, float] = {}
    how: dict[dt.date, str] = {}
    foreign = False
    first_explicit: dt.date | None = None
    asked: dt.date | None = None

    def add(day: dt.date, weight: float, kind: str) -> None:
        if sent_day and day < sent_day:
            weight /= 2  # "op 13 januari was ik er ook": a past meeting is named, rarely meant
        scores[day] = scores.get(day, 0.0) + weight
        if weight >= max(scores.values(), default=0) or day not in how:
            how[day] = kind

    by_date = {m.date: m for m in meetings}
    themes, theme_days = _themes(tuple(meetings))
    for source in sources:
        if not source.text.strip():
            continue
        folded = fold(source.text)
        digits = bool(_DIGIT.search(folded))
        explicit = _explicit_dates(folded, sent_day) if digits else []
        covered = [(s, e) for _, s, e in explicit]
        for day, _start, _end in explicit:
            first_explicit = first_explicit or day
            same_day = (
                day
                if day in by_date
                else next(
                    (m.date for m in meetings if (m.date.month, m.date.day) == (day.month, day.day)), None
                )
            )
            if same_day:
                add(same_day, 3.0 * source.weight, "date")
            elif meetings and source.weight >= 1.0:
                foreign, asked = True, asked or day
        for match in MONTH_ALONE.finditer(folded):
            _month_named(match, folded, covered, meetings, sent_day, source.weight, add)
        if sent_day:
            for match in RELATIVE.finditer(folded):
                low, high = _relative_range(match.group(0), sent_day)
                bare = match.group(0) in ("dinsdag", "mardi", "tuesday")
                for meeting in meetings:
                    if low <= meeting.date <= high:
                        add(meeting.date, (1.5 if bare else 2.5) * source.weight, "relative")
            for match in DAY_ONLY.finditer(folded) if digits else ():
                soon = [
                    m.date
                    for m in meetings
                    if m.date.day == int(match[1]) and sent_day <= m.date <= sent_day + dt.timedelta(days=62)
                ]
                if soon and not any(s <= match.start() < e for s, e in covered):
                    add(min(soon), 2.5 * source.weight, "date")
        named: set[dt.date] = set()
        for match in themes.finditer(folded) if themes else ():
            word = match.group(0)
            theme_day = theme_days.get(word) or next(
                (d for w, d in theme_days.items() if word.startswith(w)), None
            )
            if theme_day is None or theme_day in named:
                continue
            named.add(theme_day)
            near = _session_near(folded, match.start(), match.end())
            add(theme_day, (2.5 if near else 1.0) * source.weight, "theme")
    if not scores:
        if not meetings and first_explicit:
            return DateReading(first_explicit, False, "date")
        return DateReading(None, foreign, "", asked)
    best = max(scores, key=lambda d: (scores[d], -abs((d - sent_day).days) if sent_day else 0))
    return DateReading(best, foreign, how.get(best, ""), asked)
