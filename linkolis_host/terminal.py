"""Text on its way to a terminal: what a marketplace, a redirect or a seller typed must not drive the terminal.

An app name, a SKU, an ``error_description`` from a redirect or a listing issue's message may carry control
characters (ESC sequences that recolour, retitle or rewrite the screen; a carriage return that overwrites a
line) or Unicode format characters (bidi overrides that show text in another order, zero-width characters).
``safe`` writes each of them as a visible escape; ``unsafe_characters`` tells input validation which to refuse.
"""

from __future__ import annotations

import os
import re
import unicodedata
from typing import Any

# C0 and C1 controls and DEL, and every Unicode "format" character (bidi embeddings, overrides and isolates,
# zero-width joiners and spaces, the BOM...). Newline and tab are kept where a message is allowed several lines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _is_unsafe(char: str) -> bool:
    return bool(_CONTROL.match(char)) or unicodedata.category(char) == "Cf"


def unsafe_characters(text: str) -> list[str]:
    """The characters of ``text`` that may not stand in a name or a SKU, written as escapes (``\\x1b``)."""
    return sorted({_escape(c) for c in text if _is_unsafe(c)})


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str, keep_newlines: bool = True) -> str:
    """``text`` with every control and format character written as an escape (newlines and tabs kept)."""
    if not isinstance(text, str):
        text = str(text)
    kept = "\n\t" if keep_newlines else ""
    return "".join(_escape(c) if _is_unsafe(c) and c not in kept else c for c in text)


def safe_json(text: str) -> str:
    """A JSON document made terminal-safe: JSON already escapes C0 controls; DEL, C1 and format characters
    (which JSON may carry raw) become ``\\uXXXX`` escapes, which mean the same character to a JSON reader."""
    # Raw newlines and tabs in a JSON document are its own layout (inside strings JSON escapes them itself).
    return "".join(f"\\u{ord(c):04x}" if _is_unsafe(c) and c not in "\n\t\r" else c for c in text)


# -- is it a terminal, may it be coloured ----------------------------------------------------------------------

TERMINAL_ENV = "LINKOLIS_TERMINAL"
"""``1``: treat stdout and stderr as a terminal (tables, bars, colour), ``0``: as a pipe; unset: ask the stream.
Tests force a terminal with it; an operator may force plain output into a pager with ``LINKOLIS_TERMINAL=0``."""


def is_terminal(stream: Any) -> bool:
    forced = os.environ.get(TERMINAL_ENV, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no stream, or a closed one
        return False


def colour_wanted(stream: Any, no_color: bool = False) -> bool:
    """Colour only on a terminal, and never with ``--no-color`` or ``NO_COLOR`` set to anything (no-color.org)."""
    return not no_color and not os.environ.get("NO_COLOR") and is_terminal(stream)


# -- words -----------------------------------------------------------------------------------------------------

_PLURALS = {"batch": "batches", "entry": "entries", "was": "were", "is": "are", "needs": "need", "has": "have"}


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 batch``, ``2 batches``, ``0 orders``; ``many`` for a word the rules miss."""
    if count == 1:
        return f"{count} {word}"
    if many is None:
        many = _PLURALS.get(word) or (
            word[:-1] + "ies"
            if word.endswith("y") and word[-2:-1] not in "aeiou"
            else word + "es"
            if word.endswith(("s", "x", "ch", "sh"))
            else word + "s"
        )
    return f"{count:,} {many}"


def article(word: str) -> str:
    """``an Amazon``, ``a bol``: the article a word takes, by its first letter (good enough for names)."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
