"""Rows for a person or a pipe: a table with headers on a terminal, tab-separated lines without decoration when
piped (as gh does), and the few ways a value is written everywhere in human output.

Money is "77.99 EUR", an unknown value is "-", a flag is "yes"/"no", a list is "a, b", a time is
"2026-12-01 21:37 UTC". Every cell goes through ``terminal.safe``: a marketplace's or a seller's text never drives
the terminal, and a tab or a newline inside a cell never breaks a piped line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Iterable, Sequence

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .terminal import colour_wanted, is_terminal, safe

DASH = "-"
TIME_FORMAT = "%Y-%m-%d %H:%M UTC"


def value(v: Any) -> str:
    """A value as a person reads it: never Python's ``None``, ``True`` or ``['refresh_token']``."""
    if v is None or v == "":
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple, set, frozenset)):
        return ", ".join(value(x) for x in v) or DASH
    if isinstance(v, dict):
        return ", ".join(f"{k}={value(x)}" for k, x in v.items()) or DASH
    return str(v)


def money(amount: Any, currency: str | None) -> str:
    """``77.99 EUR``; a dash when the amount is unknown (a cancelled order has none)."""
    if amount is None or amount == "":
        return DASH
    return f"{amount} {currency}" if currency else str(amount)


def when(text: Any) -> str:
    """An ISO time from the database or a marketplace, in the one format human output uses; a dash for none."""
    if text is None or text == "":
        return DASH
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return str(text)
    if moment.tzinfo is None:  # the host stores UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


@dataclass(frozen=True)
class Column:
    header: str
    justify: str = "left"  # "right" for numbers and money
    styles: dict[str, str] | None = None  # a cell's text -> its colour on a colour terminal ("failed": "red")
    wrap: bool = False  # free text (a message) wraps in its column; an id, a SKU or a time stays on one line


def column(header: str, *, right: bool = False, styles: dict[str, str] | None = None, wrap: bool = False) -> Column:
    return Column(header, "right" if right else "left", styles, wrap)


def colour_on(stream: Any = None) -> bool:
    """Colour for ``stream`` (stdout by default): a terminal, no ``NO_COLOR``, no ``--no-color`` (which the CLI
    records as click's ``ctx.color = False``)."""
    ctx = click.get_current_context(silent=True)
    no_color = ctx is not None and ctx.find_root().color is False
    return colour_wanted(stream if stream is not None else sys.stdout, no_color)


def console(stream: Any = None) -> Console:
    stream = stream if stream is not None else sys.stdout
    return Console(
        file=stream,
        force_terminal=is_terminal(stream),
        color_system="standard" if colour_on(stream) else None,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )


def print_table(columns: Sequence[Column], rows: Iterable[Sequence[Any]], stream: Any = None) -> None:
    """A table with headers on a terminal; one tab-separated line a row, no header, when piped."""
    stream = stream if stream is not None else sys.stdout
    cells = [[value(c) for c in row] for row in rows]
    if not is_terminal(stream):
        for row in cells:
            stream.write("\t".join(safe(c, keep_newlines=False) for c in row) + "\n")
        stream.flush()
        return
    # As gh: upper-case headers (bold where colour is on), columns two spaces apart, no rules or boxes.
    table = Table(box=None, padding=(0, 2, 0, 0), pad_edge=False, header_style="bold")
    for c in columns:
        table.add_column(c.header.upper(), justify=c.justify, no_wrap=not c.wrap, overflow="fold")  # type: ignore[arg-type]
    for row in cells:
        styled = (Text(safe(text), style=(c.styles or {}).get(text, "")) for c, text in zip(columns, row, strict=True))
        table.add_row(*styled)
    # Rendered aside first so no line ends in the padding of its last column (a pager, a copy-paste, a diff).
    screen = console(stream)
    with screen.capture() as captured:
        screen.print(table)
    stream.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    stream.flush()
