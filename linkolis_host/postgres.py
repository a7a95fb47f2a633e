"""The host's database on PostgreSQL (``LINKOLIS_DATABASE_URL=postgresql://…``): the same surface the host uses of
``store.HostDatabase`` (sqlite-utils' ``Database``: ``execute``, ``query``, ``atomic``, ``db["table"].get/insert/
update/upsert``, ``db.conn.executemany``), over psycopg, so every module runs one SQL text on both.

The dialect seam is ``translate``: the host writes SQLite's SQL with ``?`` or ``:name`` parameters, and the few
SQLite-only forms it uses get PostgreSQL's here:

- ``?``, ``?N`` and ``:name`` become psycopg's ``%s``, ``%(_N)s`` and ``%(name)s`` (a ``%`` of the text is
  doubled);
- ``a IS b`` and ``a IS NOT b`` (SQLite's NULL-safe comparisons) become ``IS [NOT] DISTINCT FROM``;
- ``x IN ()`` and ``x NOT IN ()``, empty lists SQLite allows, become ``x = ANY('{}')`` (false) and
  ``x <> ALL('{}')`` (true);
- ``MAX(a, b)`` and ``MIN(a, b)`` with two or more arguments (SQLite's scalar forms) become ``GREATEST`` and
  ``LEAST``: both ignore a NULL argument on PostgreSQL, where SQLite's give NULL; the host never passes one;
- ``rowid``, of the two tables that use it (``desired_stock``, ``rate_windows``), is a real identity column in the
  PostgreSQL schema, so it needs no rewriting.

Values travel as SQLite's do: parameters are bound on the client (psycopg's ``ClientCursor``), so a quoted string
takes the type its column needs; a bool is 1 or 0; an integral ``SUM`` is an int and any other numeric a float.

Write transactions are one at a time, as on SQLite: ``atomic()`` takes a transaction-level advisory lock
(``WRITE_LOCK``) before its first statement, so a read-then-write in one transaction sees what SQLite's
``BEGIN IMMEDIATE`` made it see, across every process sharing the database. Statements outside ``atomic()`` are
each their own transaction (autocommit), as with sqlite-utils.

The schema is ``postgres_schema.sql`` (SQLite's migrations m001-m027 as one baseline), then the same numbered steps
from then on (``postgres_migrations``); ``connect`` applies what is missing, under an advisory lock so two processes
starting at once migrate once.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

from sqlite_utils.db import NotFoundError

from .errors import Action, UserError
from .version import __version__

WRITE_LOCK = 0x4C4B4C53  # "LKLS": the advisory lock every write transaction holds (one writer at a time)
MIGRATE_LOCK = 0x4C4B4D47  # "LKMG": held while the schema is brought up to date

try:  # an optional dependency: linkolis-host[postgresql]
    import psycopg
    from psycopg.adapt import Loader
    from psycopg.types.numeric import IntDumper
except ImportError:  # pragma: no cover - the message says what to install
    psycopg = None  # type: ignore[assignment]


# What the driver raises (none without it): ``store.ERRORS`` adds it to SQLite's.
ERRORS: tuple[type[BaseException], ...] = (psycopg.Error,) if psycopg is not None else ()


def explain(exc: BaseException) -> UserError | None:
    """A clear error for the PostgreSQL server gone or refusing us (the operator's to fix); None for a bug."""
    if psycopg is None or not isinstance(exc, psycopg.OperationalError):
        return None
    return UserError(
        f"the PostgreSQL database of LINKOLIS_DATABASE_URL cannot be used ({_first_line(exc)}); check that the "
        "server runs and accepts this host, then try again",
        code="database_unreachable",
        action=Action.OPERATOR,
    )


def is_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


_TOKEN = re.compile(
    r"""'(?:[^']|'')*'       # a string literal
      | "(?:[^"]|"")*"       # a quoted name
      | --[^\n]*             # a comment
      | [A-Za-z_][A-Za-z_0-9]*  # a word
      | \?[0-9]+             # a numbered parameter
      | ::                   # a cast, never a parameter
      | :[A-Za-z_][A-Za-z_0-9]*  # a named parameter
      | \s+
      | .""",
    re.VERBOSE | re.DOTALL,
)


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """SQLite's SQL as the host writes it, in PostgreSQL's (see the module)."""
    tokens = _TOKEN.findall(sql)
    out: list[str] = []
    dropped: set[int] = set()
    for i, token in enumerate(tokens):
        if i in dropped:
            continue
        if token == "?":
            out.append("%s")
        elif token[0] == "?":  # ?N: the N-th value, maybe more than once
            out.append(f"%(_{token[1:]})s")
        elif token.startswith(":") and token != "::":
            out.append(f"%({token[1:]})s")
        elif token.startswith("--"):
            out.append("")  # a comment: it may hold a ? or a % psycopg would take for a parameter
        elif token[0] in "'\"" or token.isspace():
            out.append(token.replace("%", "%%"))
        elif token == "%":
            out.append("%%")
        elif token.upper() == "IS" and (distinct := _is_distinct(tokens, i + 1)):
            out.append(distinct)
            if distinct == "IS DISTINCT FROM":  # the NOT that followed is in the rewrite
                dropped.add(next(j for j in range(i + 1, len(tokens)) if not tokens[j].isspace()))
        elif token.upper() == "NOT" and (empty := _empty_list(tokens, i + 1, after_in=True)):
            out.append("<> ALL('{}')")  # true: an array literal takes the type of what it is compared with
            dropped.update(empty)
        elif token.upper() == "IN" and (empty := _empty_list(tokens, i + 1)):
            out.append("= ANY('{}')")  # false
            dropped.update(empty)
        elif token.upper() in ("MAX", "MIN") and _arguments(tokens, i + 1) >= 2:
            out.append("GREATEST" if token.upper() == "MAX" else "LEAST")
        else:
            out.append(token)
    return "".join(out)


def _empty_list(tokens: list[str], start: int, after_in: bool = False) -> list[int]:
    """The places of ``( )`` right after an IN (``after_in``: of ``IN ( )`` after a NOT), when its list is empty
    (SQLite's ``IN ()``); else none."""
    places = [j for j in range(start, min(len(tokens), start + 7)) if not tokens[j].isspace()][:3]
    if after_in:
        if not places or tokens[places[0]].upper() != "IN":
            return []
        places = places[1:]
    else:
        places = places[:2]
    if len(places) == 2 and tokens[places[0]] == "(" and tokens[places[1]] == ")":
        return list(range(start, places[1] + 1))
    return []


def _is_distinct(tokens: list[str], start: int) -> str | None:
    """SQLite's ``a IS b`` and ``a IS NOT b`` (b not NULL, TRUE or FALSE) in PostgreSQL's words; None: leave it."""
    following = [t.upper() for t in tokens[start:] if not t.isspace()][:2]
    keep = ("NULL", "TRUE", "FALSE", "DISTINCT", "UNKNOWN")
    if not following or following[0] in keep:
        return None
    if following[0] == "NOT":
        return None if len(following) < 2 or following[1] in keep else "IS DISTINCT FROM"
    return "IS NOT DISTINCT FROM"


def _arguments(tokens: list[str], start: int) -> int:
    """How many top-level arguments the call whose name ends before ``tokens[start]`` has (0: not a call)."""
    i = start
    while i < len(tokens) and tokens[i].isspace():
        i += 1
    if i >= len(tokens) or tokens[i] != "(":
        return 0
    depth, count = 0, 1
    for token in tokens[i:]:
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
            if depth == 0:
                return count
        elif token == "," and depth == 1:
            count += 1
    return count


if psycopg is not None:

    class _BoolAsInt(IntDumper):
        """SQLite has no booleans: True is 1, into the integer columns the host keeps flags in."""

        def dump(self, obj: bool) -> bytes:
            return b"1" if obj else b"0"

        def quote(self, obj: bool) -> bytes:
            return b"1" if obj else b"0"

    class _Number(Loader):
        """``SUM`` of integers is numeric on PostgreSQL: an int when integral (as SQLite's), a float otherwise."""

        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return int(text) if text.lstrip("-").isdigit() else float(Decimal(text))


def _driver() -> Any:
    if psycopg is None:
        raise UserError(
            "LINKOLIS_DATABASE_URL names a PostgreSQL database, but the PostgreSQL driver is not installed: "
            "pip install 'linkolis-host[postgresql]'",
            code="postgres_driver_missing",
            action=Action.OPERATOR,
        )
    return psycopg


def open_connection(url: str) -> Any:
    """A psycopg connection in autocommit, binding parameters on the client, with the host's adaptations."""
    driver = _driver()
    try:
        conn = driver.connect(url, autocommit=True, cursor_factory=driver.ClientCursor, connect_timeout=10)
    except driver.ProgrammingError:  # libpq could not parse it: its message quotes the part, maybe the password
        raise UserError(
            "LINKOLIS_DATABASE_URL is not a URL PostgreSQL can read (postgresql://user:password@host:port/database, "
            "special characters percent-encoded); it is not shown, as it may hold a password",
            code="database_url_invalid",
            action=Action.OPERATOR,
        ) from None
    except driver.OperationalError as exc:
        raise UserError(
            f"cannot reach the PostgreSQL database of LINKOLIS_DATABASE_URL ({_first_line(exc)}); check that the "
            "server runs and the URL names it",
            code="database_unreachable",
            action=Action.OPERATOR,
        ) from None
    conn.adapters.register_dumper(bool, _BoolAsInt)
    conn.adapters.register_loader("numeric", _Number)
    return conn


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class PgCursor:
    """What the host reads of a cursor: rows, ``rowcount``, ``description``."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        self.description = cursor.description

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone() if self.description is not None else None

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall() if self.description is not None else []

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.fetchall())


def _params(params: Any, sql: str = "") -> Any:
    if params is None:
        return ()
    if isinstance(params, Mapping):
        return dict(params)
    if "%(_" in sql:  # numbered (?N): by name
        return {f"_{i}": value for i, value in enumerate(params, 1)}
    return tuple(params)


class PgConnection:
    """sqlite3's ``Connection`` as the host uses it (``execute``, ``executemany``, ``in_transaction``), on psycopg.
    One thread at a time: a thread's transaction is never interleaved with another's statements."""

    def __init__(self, url: str) -> None:
        self.raw = open_connection(url)
        self.lock = threading.RLock()
        self._trace: Callable[[str], None] | None = None

    def set_trace_callback(self, trace: Callable[[str], None] | None) -> None:
        """As sqlite3's: ``trace`` is given every statement run (SQLite's text, once per row of an executemany)."""
        self._trace = trace

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def execute(self, sql: str, params: Any = ()) -> PgCursor:
        with self.lock:
            sql = translate(sql)
            values = _params(params, sql)
            if self._trace is not None:  # as SQLite's: the statement with its values
                self._trace(self.raw.cursor().mogrify(sql, values))
            return PgCursor(self.raw.execute(sql, values))

    def statement(self, sql: str, params: Any = ()) -> Any:
        """A statement in PostgreSQL's own SQL (``%s``), untranslated: the transaction's BEGIN, locks, savepoints."""
        with self.lock:
            if self._trace is not None:
                self._trace(sql)
            return self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Any]) -> PgCursor:
        with self.lock:
            cursor = self.raw.cursor()
            sql = translate(sql)
            values = [_params(r, sql) for r in rows]
            if self._trace is not None:
                for row in values:
                    self._trace(cursor.mogrify(sql, row))
            cursor.executemany(sql, values)
            return PgCursor(cursor)

    def commit(self) -> None:
        """As sqlite3's: end the transaction a statement of the caller's own began (a test's, writing outside
        ``atomic()``)."""
        with self.lock:
            if self.in_transaction:
                self.raw.execute("COMMIT")

    def close(self) -> None:
        self.raw.close()


class PgTable:
    """The part of sqlite-utils' ``Table`` the host uses."""

    def __init__(self, db: PgDatabase, name: str) -> None:
        self.db, self.name = db, name
        self.last_pk: Any = None

    @property
    def pks(self) -> list[str]:
        return self.db.primary_key(self.name)

    @property
    def count(self) -> int:
        return self.db.execute(f'SELECT COUNT(*) FROM "{self.name}"').fetchone()[0]

    def _where(self, pk_values: Any) -> tuple[str, tuple]:
        values = pk_values if isinstance(pk_values, (list, tuple)) else (pk_values,)
        return " AND ".join(f'"{c}" = ?' for c in self.pks), tuple(values)

    def get(self, pk_values: Any) -> dict[str, Any]:
        where, values = self._where(pk_values)
        rows = list(self.db.query(f'SELECT * FROM "{self.name}" WHERE {where}', values))
        if not rows:
            raise NotFoundError
        return rows[0]

    def insert(self, record: Mapping[str, Any], **_: Any) -> PgTable:
        columns = list(record)
        names = ", ".join(f'"{c}"' for c in columns)
        pks = ", ".join(f'"{c}"' for c in self.pks)
        row = self.db.execute(
            f'INSERT INTO "{self.name}" ({names}) VALUES ({", ".join("?" * len(columns))}) RETURNING {pks}',
            [record[c] for c in columns],
        ).fetchone()
        self.last_pk = row[0] if len(row) == 1 else tuple(row)
        return self

    def update(self, pk_values: Any, updates: Mapping[str, Any] | None = None, **_: Any) -> PgTable:
        if updates:
            where, values = self._where(pk_values)
            sets = ", ".join(f'"{c}" = ?' for c in updates)
            self.db.execute(f'UPDATE "{self.name}" SET {sets} WHERE {where}', [*updates.values(), *values])
        self.last_pk = pk_values
        return self

    def upsert(self, record: Mapping[str, Any], pk: str | Sequence[str] | None = None, **_: Any) -> PgTable:
        return self.upsert_all([record], pk=pk)

    def upsert_all(
        self, records: Iterable[Mapping[str, Any]], pk: str | Sequence[str] | None = None, **_: Any
    ) -> PgTable:
        keys = [pk] if isinstance(pk, str) else list(pk or self.pks)
        for record in records:
            columns = list(record)
            names = ", ".join(f'"{c}"' for c in columns)
            conflict = ", ".join(f'"{c}"' for c in keys)
            sets = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in keys)
            action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
            self.db.execute(
                f'INSERT INTO "{self.name}" ({names}) VALUES ({", ".join("?" * len(columns))}) '
                f"ON CONFLICT ({conflict}) {action}",
                [record[c] for c in columns],
            )
            self.last_pk = record.get(keys[0]) if len(keys) == 1 else tuple(record.get(k) for k in keys)
        return self


class PgDatabase:
    """``store.HostDatabase``'s surface on PostgreSQL (see the module)."""

    dialect = "postgresql"
    path = None
    read_only: str | None = None

    def __init__(self, url: str, say: Callable[[str], None] | None = None) -> None:
        self.url = url
        self.conn = PgConnection(url)
        self.say = say or (lambda message: None)
        self._pks: dict[str, list[str]] = {}
        self._depth = 0

    def execute(self, sql: str, params: Any = ()) -> PgCursor:
        return self.conn.execute(sql, params)

    def write_one(self, sql: str, params: Any = ()) -> list[tuple]:
        """One statement that writes, as a transaction of its own (inside ``atomic()``: a part of that one); its
        rows (``RETURNING``). Outside ``atomic()`` it is one round trip, autocommitted, that takes no
        ``WRITE_LOCK``: a statement is atomic on its own, but a read-then-write of another transaction may see it
        land between its read and its write, so only for a statement whose effect no other write transaction reads
        to decide what it writes (a stamp, a note of when something ran)."""
        with self.conn.lock:
            return self.conn.execute(sql, params).fetchall()

    def query(self, sql: str, params: Any = ()) -> Iterator[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        if cursor.description is None:
            return
        names = [d.name for d in cursor.description]
        for row in cursor.fetchall():
            yield dict(zip(names, row, strict=True))

    @contextlib.contextmanager
    def atomic(self) -> Iterator[PgDatabase]:
        """A write transaction (a savepoint inside one), holding ``WRITE_LOCK`` from its start to its end."""
        lock = self.conn.lock
        lock.acquire()
        try:
            if self._depth:
                self._depth += 1
                name = f"s{self._depth}"
                self.conn.statement(f"SAVEPOINT {name}")
                try:
                    yield self
                except BaseException:
                    self.conn.statement(f"ROLLBACK TO SAVEPOINT {name}")
                    raise
                finally:
                    self._depth -= 1
                self.conn.statement(f"RELEASE SAVEPOINT {name}")
                return
            self.conn.statement("BEGIN")
            self._depth = 1
            try:
                self.conn.statement("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                yield self
            except BaseException:
                self._depth = 0
                with contextlib.suppress(Exception):
                    self.conn.statement("ROLLBACK")
                raise
            self._depth = 0
            self.conn.statement("COMMIT")
        finally:
            lock.release()

    def __getitem__(self, name: str) -> PgTable:
        return PgTable(self, name)

    def table_names(self) -> list[str]:
        return [
            r[0]
            for r in self.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                "ORDER BY table_name"
            )
        ]

    def primary_key(self, table: str) -> list[str]:
        if table not in self._pks:
            self._pks[table] = [
                r[0]
                for r in self.conn.raw.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                    "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary "
                    "ORDER BY array_position(i.indkey, a.attnum)",
                    (f'"{table}"',),
                ).fetchall()
            ]
        return self._pks[table]

    def close(self) -> None:
        self.conn.close()

    @property
    def broken(self) -> bool:
        """Whether the connection is lost (the server restarted, the network went): only a new one works again."""
        return bool(self.conn.raw.closed or self.conn.raw.broken)


def schema_sql() -> str:
    return resources.files("linkolis_host").joinpath("postgres_schema.sql").read_text()


# SQLite's migrations after the baseline, in PostgreSQL's SQL: name -> statements. Every migration of
# ``migrations.migrations`` must be in the baseline or here (tests/test_postgres_schema.py checks).
postgres_migrations: dict[str, str] = {}


def baseline_names() -> list[str]:
    """The SQLite migrations ``postgres_schema.sql`` stands for (its ``-- baseline:`` line)."""
    for line in schema_sql().splitlines():
        if line.startswith("-- baseline:"):
            return line.split(":", 1)[1].split()
    raise AssertionError("postgres_schema.sql names no baseline")


def migrate(db: PgDatabase) -> list[str]:
    """Bring the database's schema up to date; return the steps applied (empty when it was)."""
    applied: list[str] = []
    with db.conn.lock:
        raw = db.conn.raw
        raw.execute("BEGIN")
        try:
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
            exists = raw.execute("SELECT to_regclass('linkolis_migrations')").fetchone()[0]
            if exists is None:
                raw.execute(schema_sql())
                raw.cursor().executemany(
                    "INSERT INTO linkolis_migrations (name, applied_at) VALUES (%s, now())",
                    [(n,) for n in baseline_names()],
                )
                applied.extend(baseline_names())
            done = {r[0] for r in raw.execute("SELECT name FROM linkolis_migrations").fetchall()}
            _refuse_newer(done)
            for name, statements in postgres_migrations.items():
                if name not in done:
                    raw.execute(statements)
                    raw.execute("INSERT INTO linkolis_migrations (name, applied_at) VALUES (%s, now())", (name,))
                    applied.append(name)
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
    return applied


def _refuse_newer(done: set[str]) -> None:
    """A schema with steps this code does not know was written by a newer linkolis: refused before anything is written
    (``backup.refuse_newer`` words the same for SQLite)."""
    newer = sorted(done - {*baseline_names(), *postgres_migrations})
    if newer:
        raise UserError(
            f"the PostgreSQL database was written by a newer version of linkolis: it has migrations that linkolis "
            f"{__version__} does not know ({', '.join(newer)}); nothing was changed. Install the version that wrote it "
            "(or a later one), or restore a dump made by this version",
            code="database_newer",
            action=Action.OPERATOR,
            values={"newer": newer, "version": __version__},
        )


def pending(db: PgDatabase) -> list[str]:
    exists = db.conn.raw.execute("SELECT to_regclass('linkolis_migrations')").fetchone()[0]
    if exists is None:
        return [*baseline_names(), *postgres_migrations]
    done = {r[0] for r in db.conn.raw.execute("SELECT name FROM linkolis_migrations").fetchall()}
    return [n for n in [*baseline_names(), *postgres_migrations] if n not in done]


# The databases this process has brought up to date: a fork of the host (a connection per thread) needs no second
# look, as the code that migrated it is this one.
_migrated: set[str] = set()


def connect(url: str, *, say: Callable[[str], None] | None = None) -> PgDatabase:
    """Open the PostgreSQL database at ``url`` and bring its schema up to date (once per process)."""
    db = PgDatabase(url, say)
    if url not in _migrated:
        try:
            applied = migrate(db)
        except BaseException:
            db.close()
            raise
        if applied and applied[0] not in baseline_names():  # an existing database brought up to date, not a new one
            (say or logging.getLogger("linkolis.store").warning)(
                f"upgraded the PostgreSQL database for this version of linkolis: applied {', '.join(applied)}"
            )
        _migrated.add(url)
    return db
