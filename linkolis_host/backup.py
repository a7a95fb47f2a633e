"""Backups of a data directory on SQLite, restoring one, and the schema level of a database (what an upgrade does).

A backup is one file, a gzipped tar, mode 0600: ``manifest.json`` (linkolis's version and its plugins', the
database's migration level, when it was made, whether the credentials key is inside), ``linkolis.db`` (copied by
SQLite's online backup API in one read transaction: a consistent copy while the sync and the web write) and
``linkolis.toml`` when there is one. The key that opens the stored credentials (``secret.key`` or
``LINKOLIS_SECRET_KEY``) is left out unless asked for, so that a stolen backup opens no marketplace account: it must
be kept apart, and a backup restored without it leaves apps to be authorized again (``restore`` says which).

Starting a newer linkolis on an older database backs it up first (``upgrade``, into ``backups/``), then migrates; a
database with migrations this code does not know was written by a newer version and is refused before anything is
written. On PostgreSQL both are the operator's tools' (``pg_dump``), as the docs say.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

from filelock import FileLock
from sqlite_utils import Database

from . import locks, postgres
from .errors import Action, UserError
from .migrations import migrations
from .secrets import ENV_KEY, ENV_NEXT, KEY_FILE, NEXT_FILE, SecretBox, SecretsError
from .version import __version__

FORMAT = 1  # of the manifest: a backup of a later format is refused, as one of a newer schema is
FOLDER = "backups"  # under the data directory: the backups made before an upgrade, and what a restore moved aside
SUFFIX = ".linkolis-backup"
DB_FILE = "linkolis.db"  # store.DB_FILE (store imports this module)
CONFIG_FILE = "linkolis.toml"  # config.CONFIG_FILE (a layer above this one)
MANIFEST = "manifest.json"
DOCS = "docs/operations.md (back up and restore)"


@dataclass
class Level:
    """Where a database's schema stands against this code's migrations."""

    applied: list[str]  # the migrations it records, in the order they ran
    pending: list[str]  # this code's that it lacks
    newer: list[str]  # those it records that this code does not know: a newer version wrote it

    @property
    def last(self) -> str | None:
        return self.applied[-1] if self.applied else None

    def as_data(self) -> dict[str, Any]:
        return {"applied": len(self.applied), "last": self.last, "pending": self.pending, "newer": self.newer}


def level(db: Database | sqlite3.Connection) -> Level:
    """The schema level of a SQLite database (read only)."""
    db = db if isinstance(db, Database) else Database(db)
    return _against([m.name for m in migrations.applied(db)])


def _against(applied: list[str]) -> Level:
    """The migrations ``applied`` against this code's."""
    known = [m.name for m in migrations._migrations]  # sqlite-utils offers no public list of a set's names
    return Level(applied, [n for n in known if n not in applied], [n for n in applied if n not in known])


def postgres_level(db: postgres.PgDatabase) -> Level:
    """The schema level of a PostgreSQL database (read only)."""
    known = [*postgres.baseline_names(), *postgres.postgres_migrations]
    exists = db.conn.raw.execute("SELECT to_regclass('linkolis_migrations')").fetchone()[0]
    rows = (
        db.conn.raw.execute("SELECT name FROM linkolis_migrations ORDER BY applied_at, name").fetchall()
        if exists
        else []
    )
    applied = [r[0] for r in rows]
    return Level(applied, [n for n in known if n not in applied], [n for n in applied if n not in known])


def refuse_newer(found: Level, where: object) -> None:
    """A database (or a backup) a newer linkolis wrote is not opened: this code would misread what it does not know."""
    if found.newer:
        raise UserError(
            f"{where} was written by a newer version of linkolis: it has migrations that linkolis {__version__} "
            f"does not know ({', '.join(found.newer)}); nothing was changed. Install the version that wrote it (or a "
            "later one), or restore a backup made by this version",
            code="database_newer",
            action=Action.OPERATOR,
            values={"newer": found.newer, "version": __version__},
        )


# -- making a backup ----------------------------------------------------------------------------------------------


def key_source(home: Path) -> str:
    """Where the credentials key of ``home`` is: the environment variable, or the key file's path."""
    return ENV_KEY if os.environ.get(ENV_KEY) else str(home / KEY_FILE)


def _key_bytes(home: Path, variable: str = ENV_KEY, file: str = KEY_FILE) -> bytes | None:
    """The key in ``variable`` (the environment's, which wins) or in ``home``'s ``file``; None: neither is set.
    With ``ENV_NEXT`` and ``NEXT_FILE``: the key a rotation under way re-encrypts to (``keys rotate``)."""
    if os.environ.get(variable):
        return os.environ[variable].encode() + b"\n"
    try:
        return (home / file).read_bytes()
    except FileNotFoundError:
        return None


def _plugins() -> dict[str, str]:
    """The installed plugin distributions and their versions (entry points of the group ``linkolis``)."""
    found = {}
    for entry in metadata.entry_points(group="linkolis"):
        if entry.dist is not None:
            found[entry.dist.name] = entry.dist.version
    return dict(sorted(found.items()))


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def make(
    home: Path,
    target: Path,
    *,
    with_key: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Back up ``home``'s SQLite database (with its config, and the key when ``with_key``) into ``target``, while
    other processes go on writing; return the manifest.

    :raises UserError: there is no database, the copy is damaged, or ``target`` cannot be written.
    """
    source = home / DB_FILE
    if not source.is_file():
        raise UserError(f"there is no database to back up at {source}", code="no_database", action=Action.OPERATOR)
    key = _key_bytes(home) if with_key else None
    next_key = _key_bytes(home, ENV_NEXT, NEXT_FILE)  # a rotation under way: what it moved opens only with it
    if with_key and key is None:
        raise UserError(f"there is no credentials key to put in the backup: neither {ENV_KEY} nor {home / KEY_FILE}")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".linkolis-backup-") as work:
        copy = Path(work) / DB_FILE
        say(f"copying {source}…")
        _copy_database(source, copy)
        conn = sqlite3.connect(str(copy))
        try:
            checked = conn.execute("PRAGMA integrity_check").fetchone()[0]
            found = level(conn)
        finally:
            conn.close()
        if checked != "ok":
            raise UserError(f"{source} is damaged ({checked}); no backup was made", code="database_damaged")
        manifest = {
            "format": FORMAT,
            "linkolis": __version__,
            "plugins": _plugins(),
            "created_at": _utc_now().isoformat(),
            "database": {"migrations": found.applied, "last": found.last, "bytes": copy.stat().st_size},
            "config": (home / CONFIG_FILE).is_file(),
            "key": {"inside": key is not None, "where": key_source(home), "rotating": next_key is not None},
        }
        files: list[tuple[str, bytes | Path]] = [(MANIFEST, json.dumps(manifest, indent=2).encode()), (DB_FILE, copy)]
        if manifest["config"]:
            files.append((CONFIG_FILE, (home / CONFIG_FILE).read_bytes()))
        if key is not None:
            files.append((KEY_FILE, key))
            if next_key is not None:
                files.append((NEXT_FILE, next_key))
        _write_archive(target, files, Path(work))
    say(f"backed up {source} to {target}")
    return manifest


def _copy_database(source: Path, copy: Path) -> None:
    """SQLite's online backup, all pages in one step: one read transaction, so the copy is the database as one
    moment left it, and writers in WAL mode go on meanwhile (a copy made in steps starts over at each write)."""
    reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        writer = sqlite3.connect(str(copy))
        try:
            reader.backup(writer)
            writer.execute("PRAGMA journal_mode=DELETE")  # one file, whatever mode the source was in
        finally:
            writer.close()
    finally:
        reader.close()


def _write_archive(target: Path, files: list[tuple[str, bytes | Path]], work: Path) -> None:
    """The tar, written beside ``target`` (0600 from the start) and renamed over it: never half a backup."""
    partial = work / "partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = 0o600, int(_utc_now().timestamp())
            if isinstance(content, Path):
                info.size = content.stat().st_size
                with content.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, target)


# -- reading and restoring one --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _archive(path: Path) -> Iterator[tuple[dict[str, Any], tarfile.TarFile]]:
    """The backup's manifest and its tar, or a clear refusal for a file that is none."""
    try:
        tar = tarfile.open(path, mode="r:gz")
    except FileNotFoundError:
        raise UserError(f"there is no backup at {path}", code="not_a_backup") from None
    except (tarfile.TarError, OSError) as exc:
        raise UserError(f"{path} is not a linkolis backup ({exc})", code="not_a_backup") from None
    try:
        try:
            manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
            names = set(tar.getnames())
        except (KeyError, AttributeError, ValueError, tarfile.TarError, OSError, EOFError) as exc:
            raise UserError(f"{path} is not a linkolis backup or is damaged ({exc})", code="not_a_backup") from None
        if not isinstance(manifest, dict) or DB_FILE not in names or "database" not in manifest:
            raise UserError(f"{path} is not a linkolis backup (no database in it)", code="not_a_backup")
        if manifest.get("format", 0) > FORMAT:
            raise UserError(
                f"{path} was made by a newer version of linkolis ({manifest.get('linkolis')}), in a format "
                f"linkolis {__version__} cannot read; nothing was changed. Install that version (or a later one)",
                code="database_newer",
                action=Action.OPERATOR,
                values={"newer": [], "version": __version__},
            )
        yield manifest, tar
    finally:
        tar.close()


def _manifest_level(manifest: dict[str, Any]) -> Level:
    return _against([str(n) for n in manifest["database"].get("migrations") or []])


def read_manifest(path: Path) -> dict[str, Any]:
    with _archive(path) as (manifest, _):
        return manifest


def running(home: Path) -> list[str]:
    """The other processes working on ``home``'s data that name themselves: the notes of the app locks they hold
    ("pid 123, import of 'Shop EU'"), and the processes that took an owner's name (``locks.process_owner``)."""
    found = list(locks.holders(home))
    with contextlib.suppress(OSError):
        for path in sorted((home / locks.FOLDER / locks.PROCESSES).glob("pid-*.lock")):
            pid = path.stem.split("-")[1]
            if pid != str(os.getpid()) and not locks.owner_gone(home, path.stem):
                found.append(f"pid {pid}")
    return found


def _left_alone(db: Path) -> bool:
    """Whether no other connection has the SQLite database ``db`` open, any process's (an idle web or ``sync
    --watch`` between rounds holds no lock of linkolis's): leaving WAL mode needs every other connection gone, and
    fails at once otherwise. When it succeeds the write-ahead log is played into the file, which is then whole."""
    conn = sqlite3.connect(str(db), timeout=0)
    try:
        conn.execute("PRAGMA journal_mode=DELETE").fetchone()
        return True
    except sqlite3.OperationalError as exc:
        return getattr(exc, "sqlite_errorname", "") != "SQLITE_BUSY"
    except sqlite3.DatabaseError:
        return True  # no database, or a damaged one: nobody works on it, and it goes aside
    finally:
        conn.close()


def _refuse_running(home: Path, who: list[str]) -> None:
    if who:
        raise UserError(
            f"linkolis is running on {home} ({'; '.join(who)}); stop it first: a restore under a running sync "
            "or web would be overwritten by it. Nothing was changed",
            code="data_directory_in_use",
            action=Action.OPERATOR,
            values={"processes": who},
        )


@dataclass
class Restored:
    """What ``restore`` did, for the CLI to word."""

    database: str
    manifest: dict[str, Any]
    moved_aside: str | None = None
    key_inside: bool = False
    key: str = ""  # where the credentials key is read from now (``key_source``)
    key_found: bool = False  # whether there is one there
    credentials: int = 0  # apps with stored credentials
    unopenable: list[str] = field(default_factory=list)  # those the key cannot open: to be authorized again
    pending: list[str] = field(default_factory=list)  # migrations linkolis applies when it next opens it

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


def restore(
    archive: Path, home: Path, *, replace: bool = False, say: Callable[[str], None] = lambda _: None
) -> Restored:
    """Restore the backup ``archive`` into the data directory ``home``: checked whole before anything is replaced,
    what it replaces moved aside under ``backups/`` (with ``replace``; without it a data directory with a database is
    refused), written by rename. Then the stored credentials are tried with the key now in use.

    :raises UserError: not a backup, damaged, a newer version's, a process works on ``home``, or ``home`` holds a
        database and ``replace`` is not given.
    """
    archive = Path(archive)
    with _archive(archive) as (manifest, tar):
        refuse_newer(_manifest_level(manifest), f"the backup {archive}")
        _refuse_running(home, running(home))
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        incoming = {
            name: tar.extractfile(name).read() for name in (CONFIG_FILE, KEY_FILE, NEXT_FILE) if name in tar.getnames()
        }  # type: ignore[union-attr]
        replaced = [p for p in _database_files(home) if p.exists()]
        replaced += [
            home / n for n, data in incoming.items() if (home / n).exists() and (home / n).read_bytes() != data
        ]
        if replaced and not replace:
            named = [p.name for p in replaced if not p.name.startswith(f"{DB_FILE}-")] or [DB_FILE]
            raise UserError(
                f"{home} already holds {', '.join(named)}; nothing was changed. Restore into an "
                "empty data directory, or give --replace to move these aside first",
                code="data_directory_not_empty",
                action=Action.OPERATOR,
            )
        if (home / DB_FILE).exists() and not _left_alone(home / DB_FILE):
            _refuse_running(home, [f"a process has {home / DB_FILE} open"])
        replaced = [p for p in replaced if p.exists()]
        say(f"checking {archive}…")
        with tempfile.TemporaryDirectory(dir=home, prefix=".restoring-") as work:
            copy = Path(work) / DB_FILE
            fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(tar.extractfile(DB_FILE), out)  # type: ignore[arg-type]
            found = _check_copy(copy, archive)
            moved = _move_aside(home, replaced) if replaced else None
            os.replace(copy, home / DB_FILE)
        for name, data in incoming.items():
            _write_private(home / name, data)
    unopenable, stored = _credentials_check(home)
    key_found = bool(os.environ.get(ENV_KEY)) or (home / KEY_FILE).exists()
    return Restored(
        database=str(home / DB_FILE),
        manifest=manifest,
        moved_aside=str(moved) if moved else None,
        key_inside=KEY_FILE in incoming,
        key=key_source(home),
        key_found=key_found,
        credentials=stored,
        unopenable=unopenable,
        pending=found.pending,
    )


def _database_files(home: Path) -> list[Path]:
    # A -wal left beside another database would be played into it: they go with it, or go aside with the old one.
    return [home / DB_FILE, home / f"{DB_FILE}-wal", home / f"{DB_FILE}-shm"]


def _check_copy(copy: Path, archive: Path) -> Level:
    conn = sqlite3.connect(str(copy))
    try:
        checked = conn.execute("PRAGMA integrity_check").fetchone()[0]
        found = level(conn)
    except sqlite3.DatabaseError as exc:
        raise UserError(
            f"the database in {archive} is damaged ({exc}); nothing was changed", code="not_a_backup"
        ) from None
    finally:
        conn.close()
    if checked != "ok":
        raise UserError(f"the database in {archive} is damaged ({checked}); nothing was changed", code="not_a_backup")
    refuse_newer(found, f"the backup {archive}")
    return found


def _move_aside(home: Path, paths: list[Path]) -> Path:
    aside = home / FOLDER / f"replaced-{_utc_now().strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"
    aside.mkdir(mode=0o700, parents=True)
    for path in paths:
        os.replace(path, aside / path.name)
    return aside


def _write_private(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(partial, path)


def _credentials_check(home: Path) -> tuple[list[str], int]:
    """The names of the apps whose stored credentials the key now in use cannot open (all of them when there is no
    key: none is made here), and how many apps have credentials stored."""
    conn = sqlite3.connect(str(home / DB_FILE))
    try:
        rows = conn.execute(
            "SELECT a.name, c.ciphertext FROM credentials c JOIN apps a ON a.id = c.app_id ORDER BY a.name"
        ).fetchall()
    finally:
        conn.close()
    if not os.environ.get(ENV_KEY) and not (home / KEY_FILE).exists():
        return [name for name, _ in rows], len(rows)
    box = SecretBox(home)
    unopenable = []
    for name, ciphertext in rows:
        try:
            box.open(ciphertext)
        except SecretsError:
            unopenable.append(name)
    return unopenable, len(rows)


# -- upgrading ------------------------------------------------------------------------------------------------------


def upgrade(db: Database, path: Path, say: Callable[[str], None]) -> None:
    """Bring the SQLite database ``db`` (the file ``path``) up to date: a database a newer version wrote is refused;
    one with data gets a backup in ``backups/`` first, and ``say`` tells what was done. Processes starting at once
    take turns (a lock file), so one of them backs up and migrates and the others find it done."""
    found = level(db)
    refuse_newer(found, path)
    if not found.pending:
        return
    home = path.parent
    with _upgrade_lock(home):
        found = level(db)
        refuse_newer(found, path)
        if not found.pending:
            return
        if not found.applied:  # a new database: nothing to keep, nothing to tell
            migrations.apply(db)
            return
        stamp = _utc_now().strftime("%Y%m%dT%H%M%SZ")
        target = home / FOLDER / f"before-{found.pending[-1]}-{stamp}{SUFFIX}"
        try:
            (home / FOLDER).mkdir(mode=0o700, exist_ok=True)
            make(home, target)
        except OSError as exc:
            raise UserError(
                f"{path} must be upgraded for linkolis {__version__}, but the backup before it cannot be written to "
                f"{target} ({exc.strerror or exc}); nothing was changed",
                code="database_not_upgraded",
                action=Action.OPERATOR,
            ) from None
        migrations.apply(db)
        say(
            f"upgraded {path} for linkolis {__version__}: {len(found.pending)} migration"
            f"{'s' if len(found.pending) != 1 else ''} applied ({found.last} -> {found.pending[-1]}); "
            f"the database as it was is backed up at {target}"
        )


@contextlib.contextmanager
def _upgrade_lock(home: Path) -> Iterator[None]:
    path = home / locks.FOLDER / "upgrade.lock"
    lock: FileLock | None = FileLock(path, mode=0o600)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        lock.acquire(timeout=600)  # type: ignore[union-attr]
    except OSError:  # no lock file can be made (a full disk): migrate as before, the backup then says what failed
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()
