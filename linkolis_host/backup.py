"""Backups of a data directory on SQLite, restoring one, and the schema level of a database (what an upgrade does).

A backup is one file, a gzipped tar, mode 0600: ``manifest.json`` (linkolis's version and its plugins', the
database's migration level, when it was made, whether the credentials key is inside, and the size and SHA-256 of
each other file), ``linkolis.toml`` when there is one, and ``linkolis.db`` (copied by SQLite's online backup API in
one read transaction: a consistent copy while the sync and the web write). The key that opens the stored credentials
(``secret.key`` or ``LINKOLIS_SECRET_KEY``) is left out unless asked for, so that a stolen backup opens no
marketplace account: it must be kept apart, and a backup restored without it leaves apps to be authorized again
(``restore`` says which).

A restore checks every file against the manifest's checksums and the gzip stream to its end before it replaces
anything: neither tar (which stops reading at its end-of-archive blocks, before gzip's CRC) nor SQLite's
``integrity_check`` (the structure of the pages, not what they hold) notices a changed byte.

Starting a newer linkolis on an older database backs it up first (``upgrade``, into ``backups/``), then migrates; a
database with migrations this code does not know was written by a newer version and is refused before anything is
written. On PostgreSQL both are the operator's tools' (``pg_dump``), as the docs say.
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import hashlib
import io
import json
import os
import secrets
import sqlite3
import tarfile
import tempfile
import zlib
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from cryptography.fernet import Fernet, InvalidToken
from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlite_utils import Database

from . import locks, postgres
from .errors import Action, UserError
from .migrations import migrations
from .secrets import ENV_KEY, ENV_NEXT, KEY_FILE, NEXT_FILE, SecretBox, SecretsError, sync_folder
from .version import __version__

# Of the manifest: a backup of a later format is refused, as one of a newer schema is. Format 1 (before checksums)
# was only ever made by development versions, and is refused too: a restore checks what it brings back.
FORMAT = 2
FOLDER = "backups"  # under the data directory: the backups made before an upgrade, and what a restore moved aside
SUFFIX = ".linkolis-backup"
DB_FILE = "linkolis.db"  # store.DB_FILE (store imports this module)
CONFIG_FILE = "linkolis.toml"  # config.CONFIG_FILE (a layer above this one)
MANIFEST = "manifest.json"
DOCS = "docs/operations.md (back up and restore)"
UPGRADE_WAIT = 600.0  # seconds a starting process waits for another's upgrade (its backup of a large database)
_TEMPORARY = (".linkolis-backup-", ".restoring-")  # the prefixes of the folders a backup and a restore work in


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


# -- the manifest -------------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class FileEntry(_Strict):
    """A file in the backup as ``make`` read it: what a restore checks it against."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)


class DatabaseEntry(_Strict):
    migrations: list[str]  # those the database records, in the order they ran
    last: str | None
    bytes: int = Field(ge=0)


class KeyEntry(_Strict):
    inside: bool  # the credentials key is in the backup (``--with-key``)
    where: str  # where it was read from (``key_source``)
    rotating: bool  # a key rotation was under way, or ran while the database was copied


class Manifest(_Strict):
    """``manifest.json``: what made the backup and what it holds."""

    format: int
    linkolis: str
    plugins: dict[str, str]
    created_at: str
    database: DatabaseEntry
    config: bool
    key: KeyEntry
    files: dict[str, FileEntry]  # every other file in the backup, by name

    @model_validator(mode="after")
    def _files_as_said(self) -> Manifest:
        if unknown := sorted(set(self.files) - {DB_FILE, CONFIG_FILE, KEY_FILE, NEXT_FILE}):
            raise ValueError(f"files a backup does not hold: {', '.join(unknown)}")
        if DB_FILE not in self.files:
            raise ValueError(f"{DB_FILE} is not among its files")
        if self.config != (CONFIG_FILE in self.files) or self.key.inside != (KEY_FILE in self.files):
            raise ValueError("its files are not those it says it holds")
        if NEXT_FILE in self.files and KEY_FILE not in self.files:
            raise ValueError(f"{NEXT_FILE} without {KEY_FILE}")
        return self


def _entry(content: bytes | Path) -> FileEntry:
    digest, size = hashlib.sha256(), 0
    with content.open("rb") if isinstance(content, Path) else io.BytesIO(content) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(sha256=digest.hexdigest(), bytes=size)


def _why(exc: OSError, folder: Path) -> str:
    """An OSError in words: the path it is about (``folder`` for a temporary name made in it, which tells the reader
    nothing) and the reason."""
    named = exc.filename if exc.filename and not any(t in str(exc.filename) for t in _TEMPORARY) else folder
    return f"{named}: {exc.strerror or exc}"


# -- making a backup ----------------------------------------------------------------------------------------------


def key_source(home: Path) -> str:
    """Where the credentials key of ``home`` is: the environment variable, or the key file's path."""
    return ENV_KEY if os.environ.get(ENV_KEY) else str(home / KEY_FILE)


def _keys_now(home: Path) -> tuple[bytes | None, bytes | None]:
    """The credentials key and the next key of a rotation under way (``keys rotate``), None where there is none, read
    as ``SecretBox`` reads them: both from the environment when ``LINKOLIS_SECRET_KEY`` is set, else both from the
    files in ``home``."""
    if os.environ.get(ENV_KEY):
        return os.environ[ENV_KEY].encode(), os.environ.get(ENV_NEXT, "").encode() or None
    found = []
    for name in (KEY_FILE, NEXT_FILE):
        try:
            found.append((home / name).read_bytes().strip() or None)
        except FileNotFoundError:
            found.append(None)
    return found[0], found[1]


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

    :raises UserError: there is no database, the copy is damaged, ``target`` cannot be written, or (``with_key``)
        there is no key, or key rotations ran while the database was copied.
    """
    target = Path(target)
    try:
        return _make(home, target, with_key=with_key, say=say)
    except OSError as exc:
        raise UserError(
            f"cannot write the backup {target}: {_why(exc, target.parent)}; no backup was made",
            values={"path": str(target)},
        ) from None


def _make(home: Path, target: Path, *, with_key: bool, say: Callable[[str], None]) -> dict[str, Any]:
    """``make``, whose OSErrors the caller words (a backup the operator asked for, or the one before an upgrade)."""
    source = home / DB_FILE
    if not source.is_file():
        raise UserError(f"there is no database to back up at {source}", code="no_database", action=Action.OPERATOR)
    before = _keys_now(home)
    if with_key and before[0] is None:
        raise UserError(f"there is no credentials key to put in the backup: neither {ENV_KEY} nor {home / KEY_FILE}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=_TEMPORARY[0]) as work:
        copy = Path(work) / DB_FILE
        say(f"copying {source}…")
        _copy_database(source, copy)
        keys = _keys_seen(before, _keys_now(home))
        if with_key and len(keys) > 2:
            raise UserError(
                f"the credentials key of {home} changed more than once while the database was copied (`linkolis keys "
                "rotate`); no backup was made. Make it again when the rotation is done",
                code="key_rotation_running",
            )
        conn = sqlite3.connect(str(copy))
        try:
            checked = conn.execute("PRAGMA integrity_check").fetchone()[0]
            found = level(conn)
        finally:
            conn.close()
        if checked != "ok":
            raise UserError(f"{source} is damaged ({checked}); no backup was made", code="database_damaged")
        files: dict[str, bytes | Path] = {}
        if (home / CONFIG_FILE).is_file():
            files[CONFIG_FILE] = (home / CONFIG_FILE).read_bytes()
        if with_key:
            # The copy's values are sealed with a key seen before it or after it: the earlier as secret.key, a later
            # one as secret.key.next. Restored, a SecretBox opens with either, and `keys rotate` finishes the move.
            files.update({name: key + b"\n" for name, key in zip((KEY_FILE, NEXT_FILE), keys, strict=False)})
        files[DB_FILE] = copy  # last: a restore reads the small files first, the stream once forward
        manifest = Manifest(
            format=FORMAT,
            linkolis=__version__,
            plugins=_plugins(),
            created_at=_utc_now().isoformat(),
            database=DatabaseEntry(migrations=found.applied, last=found.last, bytes=copy.stat().st_size),
            config=CONFIG_FILE in files,
            key=KeyEntry(inside=with_key, where=key_source(home), rotating=len(keys) > 1),
            files={name: _entry(content) for name, content in files.items()},
        ).model_dump()
        _write_archive(target, [(MANIFEST, json.dumps(manifest, indent=2).encode()), *files.items()], Path(work))
    say(f"backed up {source} to {target}")
    return manifest


def _keys_seen(before: tuple[bytes | None, ...], after: tuple[bytes | None, ...]) -> list[bytes]:
    """The distinct keys read before the copy and after it, oldest first (a rotation's next key follows the current
    one, and the current key after a rotation is the next key before it)."""
    return list(dict.fromkeys(key for key in (*before, *after) if key))


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
    with os.fdopen(fd, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz") as tar:
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
        raw.flush()  # after the tar is closed: its end blocks and gzip's trailer are on disk too
        os.fsync(raw.fileno())
    os.replace(partial, target)
    sync_folder(target.parent)


# -- reading and restoring one --------------------------------------------------------------------------------------


class _Backup:
    """A backup open for reading: its manifest, and its files, each checked against the manifest as it is read."""

    def __init__(self, path: Path, stream: gzip.GzipFile, tar: tarfile.TarFile, manifest: Manifest) -> None:
        self.path, self.manifest = path, manifest
        self._stream, self._tar = stream, tar

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise UserError(
                f"{self.path} is not a linkolis backup or is damaged ({exc}); nothing was changed", code="not_a_backup"
            ) from None

    def copy(self, name: str, out: IO[bytes]) -> None:
        """Write the file ``name`` to ``out``; refused when it is not what the manifest says was backed up."""
        digest, size = hashlib.sha256(), 0
        with self._reading():
            source = self._tar.extractfile(name)
        assert source is not None  # a regular file: ``_archive`` checked
        while True:
            with self._reading():
                chunk = source.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        expected = self.manifest.files[name]
        if (digest.hexdigest(), size) != (expected.sha256, expected.bytes):
            raise UserError(
                f"{self.path} is damaged: {name} is not what was backed up (its checksum differs); nothing was changed",
                code="not_a_backup",
            )

    def read(self, name: str) -> bytes:
        into = io.BytesIO()
        self.copy(name, into)
        return into.getvalue()

    def read_to_end(self) -> None:
        """Read the gzip stream to its end, where its CRC is checked: tar stops at its end-of-archive blocks before."""
        with self._reading():
            while self._stream.read(1 << 20):
                pass


@contextlib.contextmanager
def _archive(path: Path) -> Iterator[_Backup]:
    """The backup at ``path``, its manifest checked; a clear refusal for a file that is none."""
    try:
        stream = gzip.open(path, "rb")
    except FileNotFoundError:
        raise UserError(f"there is no backup at {path}", code="not_a_backup") from None
    except OSError as exc:
        raise UserError(f"{path} cannot be read: {exc.strerror or exc}", code="not_a_backup") from None
    with stream:
        try:
            tar = tarfile.open(fileobj=stream, mode="r:")  # reads from ``stream``: closing it is all there is to do
            members = tar.getmembers()
            listed = tar.extractfile(MANIFEST) if MANIFEST in tar.getnames() else None
            data = json.loads(listed.read()) if listed else None
        except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as exc:
            raise UserError(
                f"{path} is not a linkolis backup or is damaged ({exc}); nothing was changed", code="not_a_backup"
            ) from None
        manifest = _manifest(path, data)
        names, named = sorted(m.name for m in members), sorted([MANIFEST, *manifest.files])
        if names != named or not all(m.isfile() for m in members):
            raise UserError(
                f"{path} is not a linkolis backup: it holds {', '.join(names)}, its manifest names "
                f"{', '.join(named)}; nothing was changed",
                code="not_a_backup",
            )
        yield _Backup(path, stream, tar, manifest)


def _manifest(path: Path, data: Any) -> Manifest:
    """The manifest ``data`` checked, or why the file is no backup this version restores."""
    if not isinstance(data, dict):
        raise UserError(
            f"{path} is not a linkolis backup (it holds no manifest); nothing was changed", code="not_a_backup"
        )
    version = data.get("format")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT:
        raise UserError(
            f"{path} was made by a newer version of linkolis ({data.get('linkolis')}), in a format "
            f"linkolis {__version__} cannot read; nothing was changed. Install that version (or a later one)",
            code="database_newer",
            action=Action.OPERATOR,
            values={"newer": [], "version": __version__},
        )
    if isinstance(version, int) and not isinstance(version, bool) and version < FORMAT:
        raise UserError(
            f"{path} is a backup of format {version}, made by a development version of linkolis before backups held "
            f"checksums; linkolis {__version__} restores only what it can check (format {FORMAT}). Nothing was changed",
            code="not_a_backup",
        )
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        wrong = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise UserError(
            f"{path} is not a linkolis backup: its manifest is not one ({wrong}); nothing was changed",
            code="not_a_backup",
        ) from None


def read_manifest(path: Path) -> dict[str, Any]:
    with _archive(path) as backup:
        return backup.manifest.model_dump()


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
        raise _running_error(home, who)


def _running_error(home: Path, who: list[str]) -> UserError:
    return UserError(
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
    opens_with: str | None = None  # a key kept by an earlier rotation (``secret.key.old-*``) that opens all of those
    pending: list[str] = field(default_factory=list)  # migrations linkolis applies when it next opens it

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


def restore(
    archive: Path, home: Path, *, replace: bool = False, say: Callable[[str], None] = lambda _: None
) -> Restored:
    """Restore the backup ``archive`` into the data directory ``home``: checked whole before anything is replaced,
    what it replaces kept aside under ``backups/`` (with ``replace``; without it a data directory with a database is
    refused), written by rename. Then the stored credentials are tried with the key now in use.

    :raises UserError: not a backup, damaged, a newer version's, a process works on ``home``, ``home`` holds a
        database and ``replace`` is not given, or ``home`` cannot be written.
    """
    archive = Path(archive)
    with _archive(archive) as backup:
        manifest = backup.manifest
        refuse_newer(_against(manifest.database.migrations), f"the backup {archive}")
        _refuse_running(home, running(home))
        try:
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot restore into {home}: {_why(exc, home)}; nothing was changed") from None
        busy = _running_error(home, ["a linkolis process is upgrading the database"])
        with _upgrade_lock(home, 0, busy):  # a process starting meanwhile waits for the restore to be done
            moved, found = _restore_locked(backup, home, replace, say)
    unopenable, stored, ciphertexts = _credentials_check(home)
    key_found = bool(os.environ.get(ENV_KEY)) or (home / KEY_FILE).exists()
    return Restored(
        opens_with=_old_key_opening(home, ciphertexts) if unopenable else None,
        database=str(home / DB_FILE),
        manifest=manifest.model_dump(),
        moved_aside=str(moved) if moved else None,
        key_inside=KEY_FILE in manifest.files,
        key=key_source(home),
        key_found=key_found,
        credentials=stored,
        unopenable=unopenable,
        pending=found.pending,
    )


def _restore_locked(
    backup: _Backup, home: Path, replace: bool, say: Callable[[str], None]
) -> tuple[Path | None, Level]:
    """``restore`` once it holds the upgrade lock: where what it replaced went, and the restored database's level."""
    incoming = {name: backup.read(name) for name in (CONFIG_FILE, KEY_FILE, NEXT_FILE) if name in backup.manifest.files}
    replaced = [p for p in _database_files(home) if p.exists()]
    replaced += [home / n for n, data in incoming.items() if (home / n).exists() and (home / n).read_bytes() != data]
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
    say(f"checking {backup.path}…")
    try:
        work = tempfile.TemporaryDirectory(dir=home, prefix=_TEMPORARY[1])
    except OSError as exc:
        raise UserError(f"cannot restore into {home}: {_why(exc, home)}; nothing was changed") from None
    with work:
        copy = Path(work.name) / DB_FILE
        try:
            fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                backup.copy(DB_FILE, out)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise UserError(f"cannot restore into {home}: {_why(exc, home)}; nothing was changed") from None
        backup.read_to_end()
        found = _check_copy(copy, backup.path, backup.manifest)
        return _install(home, copy, incoming, replaced), found


def _database_files(home: Path) -> list[Path]:
    # A -wal left beside another database would be played into it: they go with it, or go aside with the old one.
    return [home / DB_FILE, home / f"{DB_FILE}-wal", home / f"{DB_FILE}-shm"]


def _check_copy(copy: Path, archive: Path, manifest: Manifest) -> Level:
    """The restored copy's level; refused unless it is a linkolis database, whole, at the level the manifest says."""
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
    if not found.applied or found.applied != manifest.database.migrations:
        # A file SQLite reads as an empty database (one byte of anything) passes the check above.
        raise UserError(
            f"the database in {archive} is not the linkolis database its manifest describes (it records "
            f"{len(found.applied)} migrations, the manifest {len(manifest.database.migrations)}); nothing was changed",
            code="not_a_backup",
        )
    refuse_newer(found, f"the backup {archive}")
    return found


def _install(home: Path, copy: Path, incoming: dict[str, bytes], replaced: list[Path]) -> Path | None:
    """Put the checked ``copy`` and the backup's other files in place, ``replaced`` kept aside first; return where.

    The key and the config go in before the database: a linkolis started after a kill in between finds the key the
    restored credentials need, where it would make a new one for want of a key. Each step is on disk before the
    next, and the database and the files it replaces keep their names throughout (linked aside, then renamed over),
    so a start finds the old database or the new one, never none.
    """
    aside = None
    try:
        if replaced:
            aside = _aside_folder(home)
            for path in replaced:
                _keep(path, aside, overwritten=path.name == DB_FILE or path.name in incoming)
            sync_folder(aside)
        for name, data in incoming.items():
            _write_private(home / name, data)
        sync_folder(home)
        os.replace(copy, home / DB_FILE)
        sync_folder(home)
    except OSError as exc:
        kept = f"; what it was replacing is kept in {aside}" if aside else ""
        raise UserError(
            f"the restore into {home} stopped part way: {_why(exc, home)}{kept}. Fix that, and restore again with "
            "--replace"
        ) from None
    return aside


def _aside_folder(home: Path) -> Path:
    folder = home / FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)  # by itself: ``mkdir(parents=True)`` makes the parents by the umask
    aside = folder / f"replaced-{_utc_now().strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"
    aside.mkdir(mode=0o700)
    return aside


def _keep(path: Path, aside: Path, *, overwritten: bool) -> None:
    """Keep ``path`` in ``aside``: a second name for a file the restore then renames over (it never goes missing), the
    file itself for one that must go (a -wal would be played into the restored database)."""
    if overwritten:
        try:
            os.link(path, aside / path.name)
            return
        except OSError:
            pass  # a file system without hard links: moved, for the moment until the new one is renamed in
    os.replace(path, aside / path.name)


def _write_private(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def _credentials_check(home: Path) -> tuple[list[str], int, list[str]]:
    """The names of the apps whose stored credentials the key now in use cannot open (all of them when there is no
    key: none is made here), how many apps have credentials stored, and the sealed values of those it cannot open."""
    conn = sqlite3.connect(str(home / DB_FILE))
    try:
        rows = conn.execute(
            "SELECT a.name, c.ciphertext FROM credentials c JOIN apps a ON a.id = c.app_id ORDER BY a.name"
        ).fetchall()
    except sqlite3.DatabaseError as exc:  # checked before it was put in place: the disk went, or another process
        raise UserError(
            f"{home / DB_FILE} was restored, but its stored credentials cannot be read ({exc})",
            code="database_damaged",
            action=Action.OPERATOR,
        ) from None
    finally:
        conn.close()
    if not os.environ.get(ENV_KEY) and not (home / KEY_FILE).exists():
        return [name for name, _ in rows], len(rows), [sealed for _, sealed in rows]
    box = SecretBox(home)
    unopenable, sealed = [], []
    for name, ciphertext in rows:
        try:
            box.open(ciphertext)
        except SecretsError:
            unopenable.append(name)
            sealed.append(ciphertext)
    return unopenable, len(rows), sealed


def _old_key_opening(home: Path, sealed: list[str]) -> str | None:
    """The newest key an earlier ``keys rotate`` kept in ``home`` (``secret.key.old-<UTC time>``) that opens every
    one of ``sealed``: a backup made before that rotation needs it."""
    for path in sorted(home.glob(f"{KEY_FILE}.old-*"), reverse=True):
        try:
            key = Fernet(path.read_bytes().strip())
            for ciphertext in sealed:
                key.decrypt(ciphertext.encode())
        except (OSError, ValueError, InvalidToken):
            continue
        return str(path)
    return None


# -- upgrading ------------------------------------------------------------------------------------------------------


def upgrade(db: Database, path: Path, say: Callable[[str], None], opened: int | None = None) -> None:
    """Bring the SQLite database ``db`` (the file ``path``) up to date: a database a newer version wrote is refused;
    one with data gets a backup in ``backups/`` first, and ``say`` tells what was done. Processes starting at once
    take turns (a lock file), so one of them backs up and migrates and the others find it done. ``opened``: the inode
    of the file ``db`` has open; when a restore renamed another over ``path`` while this process waited for the
    lock, it stops rather than go on with a file no one else sees."""
    found = level(db)
    refuse_newer(found, path)
    if not found.pending:
        return
    home = path.parent
    busy = UserError(
        f"another linkolis process is upgrading {path}; try again when it is done",
        code="database_not_upgraded",
        action=Action.OPERATOR,
    )
    with _upgrade_lock(home, UPGRADE_WAIT, busy):
        if opened is not None and os.stat(path).st_ino != opened:
            raise UserError(
                f"{path} was replaced while linkolis started (a restore ran): start it again, on the restored one",
                code="data_directory_in_use",
                action=Action.OPERATOR,
            )
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
            _make(home, target, with_key=False, say=lambda _: None)
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
def _upgrade_lock(home: Path, wait: float, busy: UserError) -> Iterator[None]:
    """Hold ``locks/upgrade.lock`` of ``home``: one process at a time upgrades or restores its database. ``busy``: the
    error when another process holds it for all of ``wait`` seconds."""
    path = home / locks.FOLDER / "upgrade.lock"
    lock: FileLock | None = FileLock(path, mode=0o600)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        lock.acquire(timeout=wait)  # type: ignore[union-attr]
    except Timeout:  # an OSError too, but no leave to go on: the other process is upgrading
        raise busy from None
    except OSError:  # no lock file can be made (a full disk): go on as before, the backup then says what failed
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()
