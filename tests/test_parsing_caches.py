"""Reading mail memoises words from it; after an erase, parsing.clear_caches leaves none of them in memory."""

from __future__ import annotations

from mailflow.core.parsing import ParseContext, clear_caches, names, parse_message, text

RAW = (
    b"From: Ine Verbeke <ine.verbeke@example.org>\r\nTo: leernetwerk@example.org\r\n"
    b"Subject: Inschrijving\r\nMessage-ID: <a1@example.org>\r\n\r\n"
    b"Ik schrijf me in voor de volgende bijeenkomst.\r\n\r\nGroeten,\r\nIne Verbeke\r\n"
)


def test_clear_caches_empties_the_memos_of_mail_words():
    parse_message(RAW, ParseContext())
    text.fold("Séance")
    assert text.fold.cache_info().currsize > 0
    assert names.tokens_of.cache_info().currsize > 0
    clear_caches()
    assert text.fold.cache_info().currsize == 0
    assert names.tokens_of.cache_info().currsize == 0
    assert names.from_display_name.cache_info().currsize == 0
