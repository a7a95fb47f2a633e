"""Text on its way to a terminal: what a marketplace, a redirect or a seller typed must not drive the terminal.

An app name, a SKU, an ``error_description`` from a redirect or a listing issue's message may carry control
characters (ESC sequences that recolour, retitle or rewrite the screen; a carriage return that overwrites a
line) or Unicode format characters (bidi overrides that show text in another order, zero-width characters).
``safe`` writes each of them as a visible escape; ``unsafe_characters`` tells input validation which to refuse.
"""

from __future__ import annotations

import re
import unicodedata

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
