"""Candidate text printed on a terminal: every dangerous code point shown, none obeyed."""

from __future__ import annotations

from evoforge.textsafe import one_line, printable

FAKE_SCORE = "\x1b[2J\x1b[Hchampion score: 0.99\x07"


def test_escape_sequences_and_bells_become_visible_escapes() -> None:
    out = printable(FAKE_SCORE + "\x9b31m")
    assert out == "\\x1b[2J\\x1b[Hchampion score: 0.99\\x07\\x9b31m"
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in out)


def test_carriage_returns_and_bidi_controls_are_made_visible() -> None:
    out = printable("score 0.10\rscore 0.99 \u202eevil\u202c \u2066x\u2069 \u200f")
    assert out == "score 0.10\\rscore 0.99 \\u202eevil\\u202c \\u2066x\\u2069 \\u200f"


def test_lone_surrogates_are_escaped_so_printing_cannot_fail() -> None:
    assert printable("bad \udcff byte") == "bad \\udcff byte"
    printable("\ud800").encode("utf-8")  # would raise UnicodeEncodeError unescaped


def test_newlines_tabs_and_ordinary_unicode_are_kept() -> None:
    text = "Traceback:\n\tline 1 — naïve 数据 ✓ 🚀\n"
    assert printable(text) == text


def test_one_line_keeps_a_value_on_its_row() -> None:
    assert one_line("0.5\nchampion_score: 0.99\u2028x") == "0.5\\nchampion_score: 0.99\\u2028x"
