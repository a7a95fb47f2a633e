"""Stock files: a seller's ``sku,quantity`` CSV (a file, standard input, or an upload), recorded whole or not at all.

The file is read as it goes, a line at a time and never past ``LINE_LIMIT`` characters a line, and its rows are
written as they are read inside one transaction, rolled back when a bad row turns up: a file of 200,000 rows is never
held as rows, and an upload is never held whole. Each quantity is the SKU's on hand, counted (``stock.Count``).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from . import stock, workspaces
from .errors import UserError
from .host import Host
from .terminal import plural

# A stock file is a few hundred thousand lines at most; anything bigger is the wrong file.
MAX_STOCK_FILE_BYTES = 50 * 1024 * 1024


def _open_stock_file(path: Path, stdin: BinaryIO | None) -> BinaryIO:
    """The file to read, refusing before reading what is not a regular file or is over the size limit (standard
    input is read whole, at most the limit: it cannot be read twice)."""
    limit = f"{MAX_STOCK_FILE_BYTES // (1024 * 1024)} MB"
    if stdin is not None:
        data = stdin.read(MAX_STOCK_FILE_BYTES + 1)
        if len(data) > MAX_STOCK_FILE_BYTES:
            raise UserError(f"standard input holds more than {limit}: that is not a stock file")
        return io.BytesIO(data)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below like any non-regular file.
        # O_BINARY (Windows only): the bytes as they are, line endings included.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    handle = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        what = (
            "a directory"
            if stat.S_ISDIR(info.st_mode)
            else "a pipe"
            if stat.S_ISFIFO(info.st_mode)
            else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a socket"
        )
        raise UserError(f"{path} is {what}, not a regular file; give a CSV file (or '-' to read standard input)")
    if info.st_size > MAX_STOCK_FILE_BYTES:
        handle.close()
        raise UserError(
            f"{path} is {info.st_size:,} bytes, over the {limit} a stock file may be; is it the right file? Split it "
            "if it is"
        )
    return handle


class _Limited(io.RawIOBase):
    """``source`` read as it is, refusing (``UserError``) once more than ``MAX_STOCK_FILE_BYTES`` came out of it:
    a file that grew while it was read, an upload that is not a stock file."""

    def __init__(self, source: BinaryIO, name: str) -> None:
        self.source, self.name, self.count = source, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.source.read(len(buffer))
        except OSError as exc:
            raise UserError(f"cannot read {self.name}: {exc.strerror or exc}") from None
        self.count += len(data)
        if self.count > MAX_STOCK_FILE_BYTES:
            raise UserError(f"{self.name} is over the {MAX_STOCK_FILE_BYTES // (1024 * 1024)} MB a stock file may be")
        buffer[: len(data)] = data
        return len(data)


def _bad_byte_line(source: BinaryIO) -> int:
    """The line of the first byte in ``source`` (read from its start) that is not UTF-8."""
    source.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    line = 1
    while True:
        chunk = source.read(1 << 16)
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            return line + chunk[: max(0, exc.start - pending)].count(b"\n")
        if not chunk:
            return line
        line += chunk.count(b"\n")


def _delimiter(header_line: str) -> str:
    """``;`` when the header says so (Excel writes it where the decimal separator is a comma), else ``,``."""
    return ";" if ";" in header_line and "," not in header_line else ","


def load_stock(host: Host, path: Path, stdin: BinaryIO | None = None, by: str | None = None) -> int:
    """Record every row of a ``sku,quantity`` CSV, or none of them when any row is bad.

    ``stdin``: read the rows from this stream instead (``path`` is then only how messages name it). The separator
    is ``,`` or ``;``, told by the header line; a UTF-8 byte order mark is fine. Rows are written as they are read,
    in one transaction that is rolled back when a bad row turns up: a file of 200,000 rows is never held as rows.
    """
    name = "standard input" if stdin is not None else str(path)
    with _open_stock_file(path, stdin) as source:
        return load_stock_stream(host, source, name, by)


def load_stock_stream(host: Host, source: BinaryIO, name: str, by: str | None = None) -> int:
    """``load_stock`` for a file already open (a seller's upload, say), read a piece at a time: at most
    ``MAX_STOCK_FILE_BYTES`` of it, never whole in memory. ``source`` must be seekable (to name the line of a byte
    that is not UTF-8); ``name`` is how messages and the ledger call it; ``by``: who loaded it."""
    text = io.TextIOWrapper(io.BufferedReader(_Limited(source, name)), encoding="utf-8-sig", newline="")
    try:
        return _load_rows(host, name, text, by or "cli")
    except UnicodeDecodeError:
        line = _bad_byte_line(source)
        raise UserError(
            f'{name} is not UTF-8 text (line {line}); save it as "CSV UTF-8"',
            code="file_not_utf8",
            values={"file": name, "line": line},
        ) from None
    finally:
        text.detach()  # the caller's to close


class _BadRows(Exception):
    """Raised inside the load's transaction so that nothing of a file with a bad row is applied."""


# The longest line read whole: two fields at the csv module's limit and then some. A longer one is no stock row,
# and is refused when it is this long, not read on to its end (45 MB without a line break would be 45 MB of text).
LINE_LIMIT = 4 * csv.field_size_limit()


def _lines(text: io.TextIOWrapper) -> Iterator[str]:
    while line := text.readline(LINE_LIMIT):
        if len(line) >= LINE_LIMIT and not line.endswith(("\n", "\r")):
            raise csv.Error(f"field larger than field limit ({csv.field_size_limit()})")
        yield line


def _load_rows(host: Host, name: str, text: io.TextIOWrapper, by: str) -> int:
    lines = _lines(text)
    try:
        first_line = next(lines, "")
    except csv.Error as exc:
        raise UserError(f"{name}: line 1: {_csv_problem(exc)}") from None
    reader = csv.reader(itertools.chain([first_line], lines), delimiter=_delimiter(first_line))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UserError(f"{name}: line 1: {exc}") from None
    if header is None or [h.strip().lower() for h in header] != ["sku", "quantity"]:
        raise UserError(
            f"{name}: the first line must be the header `sku,quantity` (or `sku;quantity`)",
            code="file_header",
            values={"file": name},
        )
    workspace_id = workspaces.current_id(host, create=True)
    first_seen: dict[str, int] = {}  # SKU -> its line: a SKU given twice is refused
    errors: list[str] = []
    try:
        with host.db.atomic():
            count = stock.Count(host, workspace_id, "loaded", by, Path(name).name)
            for number, record in _records(reader, errors):
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) != 2:
                    errors.append(f"line {number}: expected 2 columns (sku,quantity), found {len(record)}")
                    continue
                try:
                    sku, qty = stock.check_sku(record[0]), stock.check_quantity(record[1])
                except UserError as exc:
                    errors.append(f"line {number}: {exc}")
                    continue
                if sku in first_seen:
                    errors.append(f"line {number}: SKU {sku!r} already given on line {first_seen[sku]}")
                    continue
                first_seen[sku] = number
                if errors:
                    continue  # nothing will be applied: only look for more bad rows
                count.add(sku, qty)
            if errors:
                raise _BadRows
            count.flush()
    except _BadRows:
        shown = "\n  ".join(errors[:20]) + (f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else "")
        raise UserError(
            f"{name}: {plural(len(errors), 'bad row')}, nothing was applied:\n  {shown}",
            code="file_bad_rows",
            values={"file": name, "count": len(errors), "rows": shown},
        ) from None
    return len(first_seen)


def _records(reader: Any, errors: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each record after the header; a quoted field running over lines is an error."""
    while True:
        number = reader.line_num + 1  # where the next record starts
        try:
            record = next(reader, None)
        except csv.Error as exc:
            errors.append(f"line {reader.line_num}: {_csv_problem(exc)}")
            return  # the csv module cannot go on after this
        if record is None:
            return
        if reader.line_num > number or any("\n" in cell or "\r" in cell for cell in record):
            errors.append(f"line {number}: a quoted field runs on to line {reader.line_num} (a quote left open?)")
            continue
        yield number, record


def _csv_problem(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a field is longer than {csv.field_size_limit():,} characters (a quote left open?)"
    return str(exc)
