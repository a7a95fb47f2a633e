"""What many host tests do on the way to what they check."""

from __future__ import annotations

import os
import sqlite3


def install_app(run, name="Shop EU", region="EU", *extra):
    """Install a Test Market app through the CLI; return what `apps install --json` printed."""
    return run.json("apps", "install", "testmarket", "--name", name, "--region", region, *extra)


def authorize_app(run, name="Shop EU", account="SELLER1", code=0):
    """Authorize with pasted credentials (no browser), with the token the test market hands out."""
    return run(
        "apps",
        "authorize",
        name,
        "--credential",
        f"token={token_of(account)}",
        "--credential",
        f"account={account}",
        code=code,
    )


def token_of(account: str) -> str:
    return f"tok-{account}-s3cret-value"


def dump_database(path) -> dict[str, list]:
    """Every row of every table, to show that a refused command changed nothing: of the SQLite file at ``path``,
    or of the test's PostgreSQL database when it runs on one (``LINKOLIS_DATABASE_URL``)."""
    url = os.environ.get("LINKOLIS_DATABASE_URL")
    if url:
        from linkolis_host import postgres

        db = postgres.PgDatabase(url)
        try:
            tables = [t for t in db.table_names() if t != "linkolis_migrations"]
            return {t: sorted(map(repr, db.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}
        finally:
            db.close()
    conn = sqlite3.connect(str(path))
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM [{t}]"))) for t in tables}
    finally:
        conn.close()


class KeptQueue:
    """`linkolis worker`'s queue for a story that runs no task queue: what is queued is kept (``units``, ``readers``,
    ``forwarded``), not sent; a unit in ``waiting`` has a job already; with ``fail`` set, that many queueings fail
    first, as when the database goes away a moment."""

    def __init__(self, fail: int = 0) -> None:
        self.units: list[tuple[int, str, float | None]] = []
        self.readers: list[tuple[str, float | None]] = []
        self.waiting: set[tuple[int, str]] = set()  # units with a job waiting already: queueing them again is refused
        self.forwarded: list[tuple[int, str]] = []
        self.fail = fail

    def unit(self, app_id: int, stream: str, at: float | None = None) -> bool:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("the database went away a moment")
        if (app_id, stream) in self.waiting:
            return False
        self.units.append((app_id, stream, at))
        return True

    def forward(self, app_ids: list[int], stream: str) -> int:
        self.forwarded += [(app_id, stream) for app_id in app_ids]
        return len(app_ids)

    def reader(self, kind: str, at: float | None = None) -> bool:
        self.readers.append((kind, at))
        return True
