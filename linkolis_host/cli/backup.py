"""`linkolis backup`, `linkolis restore` and `linkolis db status`: the data directory kept and brought back, and
where its database's schema stands.

None of them builds the host: opening it would migrate the database, which ``db status`` must show as it is, a
backup must copy as it is (a newer version's too, before going back to an older one), and a restore replaces.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from pathlib import Path
from typing import Any

import click

from .. import backup as backups
from .. import config, postgres
from ..host import Host
from ..version import __version__
from .base import CONTEXT, LinkolisCommand, LinkolisGroup, echo, emit, json_option

PG_DOCS = (
    "on PostgreSQL, back up with the server's tools: `pg_dump --format=custom` of the database (and `pg_restore` "
    "to bring it back), plus the credentials key and linkolis.toml kept apart; see docs/deployment.md"
)


def _where(ctx: click.Context) -> tuple[Path, str | None]:
    """The data directory and the PostgreSQL URL (None: the SQLite file there), without opening the database."""
    host = ctx.find_root().obj
    if isinstance(host, Host):
        return host.home, None if isinstance(host.database, Path) else str(host.database)
    home = config.home_dir()
    return home, config.database_url(config.load_config(home), dict(os.environ))


def _say(message: str) -> None:
    echo(message, err=True)


@click.command("backup", cls=LinkolisCommand, context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--with-key",
    is_flag=True,
    help="Put the credentials key in the backup too (whoever has the file can then open the stored credentials).",
)
@json_option
@click.pass_context
def backup_command(ctx: click.Context, file: Path, with_key: bool, as_json: bool) -> None:
    """Back up the data directory to FILE while the sync and the web go on: the database, linkolis.toml, a manifest.

    The credentials key (secret.key or LINKOLIS_SECRET_KEY) stays out unless --with-key: keep it apart. Without it,
    a restore leaves every app to be authorized again.
    """
    home, url = _where(ctx)
    if url:
        raise click.ClickException(f"`linkolis backup` backs up a SQLite data directory; {PG_DOCS}")
    manifest = backups.make(home, file, with_key=with_key, say=(lambda _: None) if as_json else _say)
    key = manifest["key"]
    if key["inside"]:
        _say(
            f"the credentials key ({key['where']}) is inside {file}: whoever has the file can open the stored "
            "marketplace credentials, so keep it as safe as the key itself"
        )
    else:
        _say(
            f"the credentials key is not in {file}: keep {key['where']} safe and apart from it; a restore without "
            "it leaves every app to be authorized again (--with-key puts it in)"
        )
        if key.get("rotating"):
            _say(
                "a key rotation is under way (`linkolis keys rotate`): the credentials it has moved open only with "
                "the next key (secret.key.next or LINKOLIS_SECRET_KEY_NEXT), so keep that key with this backup too"
            )
    emit(
        {"file": str(file), **manifest},
        as_json,
        lambda m: echo(
            f"{file}: linkolis {m['linkolis']}, {len(m['database']['migrations'])} migrations "
            f"(last {m['database']['last']}), made {m['created_at']}, key {'inside' if key['inside'] else 'not inside'}"
        ),
    )


@click.command("restore", cls=LinkolisCommand, context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Move the data directory's database (and what else differs) aside first.")
@json_option
@click.pass_context
def restore_command(ctx: click.Context, file: Path, replace: bool, as_json: bool) -> None:
    """Restore the data directory from a backup FILE, with no linkolis running on it.

    A backup from a newer version is refused; one from an older version is upgraded when linkolis next starts. The
    database in the data directory is moved aside under backups/ (--replace), never deleted.
    """
    home, url = _where(ctx)
    if url:
        raise click.ClickException(f"`linkolis restore` restores a SQLite data directory; {PG_DOCS}")
    done = backups.restore(file, home, replace=replace, say=(lambda _: None) if as_json else _say)
    if done.moved_aside:
        _say(f"what the restore replaced is kept in {done.moved_aside}")
    if done.pending:
        _say(f"this backup is from an older version: linkolis {__version__} upgrades it when it next starts")
    if done.unopenable and done.opens_with:
        _say(
            f"the credentials of {len(done.unopenable)} of {done.credentials} apps were sealed with the key kept at "
            f"{done.opens_with} by an earlier key rotation, not with {done.key}: with linkolis stopped, move "
            f"{done.key} aside and put that key in its place (then `linkolis keys rotate` moves them to a new one)"
        )
    elif done.unopenable:
        why = f"there is no key at {done.key}" if not done.key_found else f"the key {done.key} does not open them"
        _say(
            f"{len(done.unopenable)} of {done.credentials} apps need authorizing again, as {why} (the backup holds "
            f"{'the key' if done.key_inside else 'no key'}); put the key their credentials were sealed with at "
            f"{done.key}, or authorize them:"
        )
        for name in done.unopenable:
            _say(f"  linkolis apps authorize {shlex.quote(name)}")
    elif done.credentials:
        _say(f"the credentials of all {done.credentials} apps open with the key {done.key}")
    made = f"made {done.manifest.get('created_at')} by linkolis {done.manifest.get('linkolis')}"
    emit(done.as_data(), as_json, lambda d: echo(f"restored {d['database']} from {file} ({made})"))


@click.group("db", cls=LinkolisGroup, context_settings=CONTEXT)
def db_group() -> None:
    """The database: where its schema stands against this version of linkolis."""


@db_group.command("status")
@json_option
@click.pass_context
def db_status(ctx: click.Context, as_json: bool) -> None:
    """Show the database's migration level: applied, pending (applied when linkolis next starts) and any newer."""
    home, url = _where(ctx)
    data: dict[str, Any] = {"linkolis": __version__}
    if url:
        db = postgres.PgDatabase(url)  # not ``connect``, which would migrate
        try:
            found = backups.postgres_level(db)
        finally:
            db.close()
        data.update(store="postgresql", database="PostgreSQL (LINKOLIS_DATABASE_URL)")  # the URL may hold a password
    else:
        path = home / backups.DB_FILE
        if not path.is_file():
            raise click.ClickException(f"there is no database at {path} yet: linkolis makes it when it first starts")
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = backups.level(conn)
        finally:
            conn.close()
        data.update(store="sqlite", database=str(path))
    data.update(found.as_data(), up_to_date=not found.pending and not found.newer)
    emit(data, as_json, _print_status)


def _print_status(data: dict[str, Any]) -> None:
    echo(f"database:  {data['database']}")
    echo(f"linkolis:  {data['linkolis']}")
    echo(f"applied:   {data['applied']} migrations (last {data['last'] or '-'})")
    echo(f"pending:   {', '.join(data['pending']) or 'none'}")
    if data["newer"]:
        echo(f"newer:     {', '.join(data['newer'])} (written by a newer linkolis: this version refuses it)")


COMMANDS = (backup_command, restore_command, db_group)
