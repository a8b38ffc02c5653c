"""The corpus metrics (intent accuracy, person F1, organisation and meeting accuracy), for the tests and the
bench.

Mirrors the project's scorer: names and organisations compared casefolded, without accents, punctuation or
word order; a "vzw"/"asbl" affix and little words ("het", "de", "in") ignored in organisations.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from mailflow.adapters.config_file import load_config
from mailflow.core.parsing import ParseContext, ParsedMessage, parse_message

PERSON_INTENTS = {"register", "cancel", "unsubscribe", "erase"}
DATE_INTENTS = PERSON_INTENTS | {"question"}
ORG_AFFIXES = {"vzw", "asbl"}
ORG_FILLERS = {"het", "de", "van", "in", "bij", "la", "le", "les", "du", "des", "of", "the"}


def _tokens(text: str | None, split_punct: bool) -> list[str]:
    text = unicodedata.normalize("NFKD", str(text or ""))
    sep = " " if split_punct else ""
    out = []
    for ch in text:
        category = unicodedata.category(ch)[0]
        if category == "M":
            continue
        out.append(sep if category in "PS" else ch)
    return "".join(out).casefold().split()


def name_keys(name: str | None) -> set[tuple[str, ...]]:
    return {tuple(sorted(_tokens(name, split))) for split in (True, False)}


def org_keys(org: str | None) -> set[tuple[str, ...]]:
    org = re.sub(r"(?i)\bv\s*\.\s*z\s*\.\s*w\b\.?", "vzw", str(org or ""))
    keys = set()
    for split in (True, False):
        toks = [t for t in _tokens(org, split) if t not in ORG_FILLERS]
        while toks and toks[0] in ORG_AFFIXES:
            toks.pop(0)
        while toks and toks[-1] in ORG_AFFIXES:
            toks.pop()
        if toks:
            keys.add(tuple(sorted(toks)))
    return keys


def org_ok(predicted: str | None, gold: dict) -> bool:
    if not str(predicted or "").strip():
        return gold["organisation"] is None or bool(gold.get("accept_null_organisation"))
    if gold["organisation"] is None:
        return False
    wanted: set[tuple[str, ...]] = set()
    for candidate in [gold["organisation"], *(gold.get("organisation_aliases") or [])]:
        wanted |= org_keys(candidate)
    return bool(org_keys(predicted) & wanted)


@dataclass
class Score:
    emails: int = 0
    intent_ok: int = 0
    gold_people: int = 0
    predicted_people: int = 0
    matched: int = 0
    org_ok: int = 0
    date_n: int = 0
    date_ok: int = 0
    language_ok: int = 0
    mistakes: list[tuple[str, str, str, str]] = field(default_factory=list)
    by_intent: dict[str, list[int]] = field(default_factory=dict)  # gold intent -> [right, total]

    @property
    def intent(self) -> float:
        return self.intent_ok / self.emails if self.emails else 0.0

    @property
    def name_f1(self) -> float:
        precision = self.matched / self.predicted_people if self.predicted_people else 0.0
        recall = self.matched / self.gold_people if self.gold_people else 0.0
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    @property
    def org(self) -> float:
        return self.org_ok / self.matched if self.matched else 0.0

    @property
    def date(self) -> float:
        return self.date_ok / self.date_n if self.date_n else 0.0

    @property
    def overall(self) -> float:
        return (self.intent + self.name_f1 + self.org + self.date) / 4

    def line(self) -> str:
        return (
            f"intent {self.intent:.3f} name_f1 {self.name_f1:.3f} org {self.org:.3f} "
            f"date {self.date:.3f} overall {self.overall:.3f}"
        )


def add(score: Score, name: str, gold: dict, parsed: ParsedMessage) -> None:
    """Count one mail's reading against its label."""
    score.emails += 1
    intent = str(parsed.intent)
    right = intent == gold["intent"] or intent in gold.get("intent_alternatives", [])
    score.intent_ok += right
    tally = score.by_intent.setdefault(gold["intent"], [0, 0])
    tally[0] += right
    tally[1] += 1
    if not right:
        score.mistakes.append((name, "intent", gold["intent"], intent))
    score.language_ok += parsed.language == gold.get("language")
    if gold["intent"] in PERSON_INTENTS:
        free = [{"name": p.name, "organisation": p.organisation} for p in parsed.people]
        score.gold_people += len(gold["people"])
        score.predicted_people += len(free)
        for person in gold["people"]:
            hit = next((p for p in free if name_keys(p["name"]) & name_keys(person["name"])), None)
            if hit is None:
                score.mistakes.append((name, "person missed", person["name"], "-"))
                continue
            free.remove(hit)
            score.matched += 1
            if org_ok(hit["organisation"], person):
                score.org_ok += 1
            else:
                score.mistakes.append(
                    (name, "organisation", str(person["organisation"]), str(hit["organisation"]))
                )
        score.mistakes += [(name, "person extra", "-", p["name"]) for p in free]
    if gold["intent"] in DATE_INTENTS:
        score.date_n += 1
        got = parsed.meeting_date.isoformat() if parsed.meeting_date else None
        if got == gold.get("meeting_date"):
            score.date_ok += 1
        else:
            score.mistakes.append((name, "meeting_date", str(gold.get("meeting_date")), str(got)))


def load_context(config_path: Path) -> ParseContext:
    config = load_config(config_path)
    own = (config.network.signup_address.lower(), config.network.coordinator.lower())
    return ParseContext(
        meetings=config.meetings,
        organisations=config.organisations,
        own_addresses=own,
        own_domain=config.network.signup_address.rpartition("@")[2].lower(),
    )


def score_corpus(folder: Path, context: ParseContext) -> Score:
    """Parse every labelled mail of a folder and score the readings."""
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    score = Score()
    for name in sorted(labels):
        add(score, name, labels[name], parse_message((folder / name).read_bytes(), context))
    return score
