"""Candidate text made safe to print on a terminal.

Everything a candidate's run produced (output tails, failure reasons built from
them, its code and diff, its note, an LLM's answer) is hostile: printed raw, an
escape sequence can clear the screen, move the cursor and draw a fake score, and
a bidi override can make a line read differently from what it holds. Every print
site of such text goes through :func:`printable` (or :func:`one_line` for a row
of a ``key: value`` summary), which shows each dangerous code point as a visible
escape (``\\x1b``, ``\\r``, ``\\u202e``) instead of sending it to the terminal.
"""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls (ESC and CSI start every terminal sequence);
# bidi marks, embeddings, overrides and isolates (text that reads other than it is);
# the Unicode line and paragraph separators (a line break that splitlines() sees);
# lone surrogates (print() raises on them, so `show` would crash).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def printable(text: str, *, keep: str = "\n\t") -> str:
    """``text`` with every terminal-dangerous code point as a visible escape.

    Newlines and tabs are kept (``keep`` names the characters to keep); ``\\r`` is
    always escaped, since it returns the cursor and lets a line overwrite itself.
    Printable text, including non-ASCII letters and emoji, is left as it is."""
    return _UNSAFE.sub(lambda m: _escape(m.group(), keep), text)


def one_line(text: str) -> str:
    """:func:`printable` with newlines escaped too: a value that stays on its row."""
    return printable(text, keep="")


def _escape(ch: str, keep: str) -> str:
    if ch in keep:
        return ch
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
