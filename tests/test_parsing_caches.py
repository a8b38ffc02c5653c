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


def _memos() -> dict[str, object]:
    import sys

    return {
        f"{module.__name__}.{name}": value
        for module in list(sys.modules.values())
        if getattr(module, "__name__", "").startswith("mailflow.core.parsing.")
        for name, value in vars(module).items()
        if hasattr(value, "cache_info")
    }


def test_every_memo_of_the_parsing_modules_is_emptied():
    parse_message(RAW, ParseContext())
    memos = _memos()
    # The job titles memo and the name comparison were missed by an earlier hand-kept list.
    assert "mailflow.core.parsing.lexicon.is_function" in memos
    assert "mailflow.core.parsing.names.same_person" in memos
    assert any(memo.cache_info().currsize for memo in memos.values())  # type: ignore[attr-defined]
    clear_caches()
    assert {name: memo.cache_info().currsize for name, memo in memos.items()} == dict.fromkeys(memos, 0)  # type: ignore[attr-defined]
