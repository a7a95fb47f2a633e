"""The installed apps as the host keeps them: one typed record per app, found by name once per command, its
status and attention, and one run of hooks for it (lock, context, attention, closing the HTTP client).

``apps`` (the lifecycle), ``orders`` and ``stock`` build on this module; it builds on none of them.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields
from typing import Any, Iterator

from . import store, workspaces
from .context import Context, Progress
from .errors import Action, AppRemoved, NeedsAttention, OperatorConfigError, UserError
from .host import Host
from .locks import app_lock

REMOVED = "removed"
# Installed from the panel and sent to the marketplace's consent page, not authorized yet: no app the seller sees
# (not listed, not found by name, its name free) until its first authorization completes; refused or abandoned,
# it is removed (``apps.abandon``).
PENDING = "pending"
HIDDEN = (REMOVED, PENDING)


@dataclass(frozen=True)
class App:
    """One installed app, as a row of the ``apps`` table. ``settings`` are the panel's values as stored."""

    id: int
    name: str
    name_key: str
    kind: str
    settings: dict[str, Any]
    status: str
    attention_reason: str | None
    account_id: str | None
    authorization_scope: str | None
    account_scope: str | None
    authorized_at: str | None
    authorization_expires_at: str | None
    verified_at: str | None
    last_import_at: str | None
    last_push_at: str | None
    created_at: str | None
    updated_at: str | None
    workspace_id: int | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> App:
        values = {f.name: row.get(f.name) for f in fields(cls)}
        values["settings"] = store.loads(row["settings"], {})
        return cls(**values)

    @property
    def authorized(self) -> bool:
        return self.account_id is not None

    @property
    def status_text(self) -> str:
        if self.status == "needs_attention":
            return f"needs attention: {self.attention_reason}"
        return self.status


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def now_text(host: Host) -> str:
    return host.clock.now().isoformat(timespec="seconds")


def list_apps(host: Host, *, every_workspace: bool = False) -> list[App]:
    """The installed apps of the host's workspace; ``every_workspace``: of all of them (``sync`` serves them all)."""
    if every_workspace:
        rows = host.db.query("SELECT * FROM apps WHERE status NOT IN (?, ?) ORDER BY workspace_id, name_key", HIDDEN)
    else:
        rows = host.db.query(
            "SELECT * FROM apps WHERE status NOT IN (?, ?) AND workspace_id = ? ORDER BY name_key",
            [*HIDDEN, workspaces.current_id(host)],
        )
    return [App.from_row(r) for r in rows]


def apps_per_workspace(host: Host) -> dict[int, int]:
    """How many apps each workspace has installed (by workspace id)."""
    return dict(
        host.db.execute(
            "SELECT workspace_id, COUNT(*) FROM apps WHERE status NOT IN (?, ?) GROUP BY workspace_id", HIDDEN
        ).fetchall()
    )


def get(host: Host, name: str | App) -> App:
    """The app called ``name`` (any case, any spacing) in the host's workspace; an ``App`` is returned as it is."""
    if isinstance(name, App):
        return name
    row = next(
        host.db.query(
            "SELECT * FROM apps WHERE name_key = ? AND status NOT IN (?, ?) AND workspace_id = ?",
            [name_key(name), *HIDDEN, workspaces.current_id(host)],
        ),
        None,
    )
    if row is None:
        names = [a.name for a in list_apps(host)]
        known = ", ".join(repr(n) for n in names) if names else "none installed yet"
        raise UserError(f"no app named {name!r} (apps: {known})")
    return App.from_row(row)


def reload(host: Host, app: App) -> App:
    """The app as it is in the database now (after a write, or when another process may have changed it)."""
    return App.from_row(host.db["apps"].get(app.id))


def is_removed(host: Host, app: App) -> bool:
    row = host.db.execute("SELECT status FROM apps WHERE id = ?", (app.id,)).fetchone()
    return row is None or row[0] == REMOVED


WORK = {"import": "its order import", "push": "its stock push"}
STAMPS = ("last_import_at", "last_push_at")  # what a clean run may stamp


def require_authorized(app: App) -> None:
    if not app.authorized:
        raise UserError(
            f"{app.name!r} is not authorized yet", code="not_authorized", app=app.name, action=Action.AUTHORIZE
        )


def require_present(host: Host, app_id: int, name: str) -> None:
    """Inside a write's transaction: refuse to save anything more for an app removed meanwhile."""
    row = host.db.execute("SELECT status FROM apps WHERE id = ?", (app_id,)).fetchone()
    if row is None or row[0] == REMOVED:
        raise AppRemoved(name)


def audit(host: Host, app: App, event: str, **detail: Any) -> None:
    host.db.execute(
        "INSERT INTO audit_log (app_id, app_name, event, detail, at) VALUES (?, ?, ?, ?, ?)",
        (app.id, app.name, event, store.dumps(detail), now_text(host)),
    )


def mark_attention(host: Host, app: App, reason: str) -> None:
    with host.db.atomic():
        host.db["apps"].update(
            app.id, {"status": "needs_attention", "attention_reason": reason, "updated_at": now_text(host)}
        )
        audit(host, app, "needs_attention", reason=reason)


def clear_attention(host: Host, app: App) -> None:
    """A run that worked shows the app works again: "needs attention" gives way to "authorized"."""
    with host.db.atomic():
        current = reload(host, app)
        if current.status == "needs_attention":
            host.db["apps"].update(
                app.id, {"status": "authorized", "attention_reason": "", "updated_at": now_text(host)}
            )
            audit(host, app, "attention_cleared")


@contextmanager
def run(
    host: Host,
    app: App,
    *,
    lock: str | None = None,
    progress: Progress | None = None,
    stamp: str | None = None,
    for_authorization: bool = False,
) -> Iterator[Context]:
    """Run hooks for ``app``: the one way the host does.

    Holds the app's lock for ``lock`` (``"import"`` or ``"push"``) when given, builds the app's context, marks the
    app "needs attention" when a hook raises ``NeedsAttention`` (an ``OperatorConfigError`` is the operator's to
    fix and is reported without touching the seller's app), and always finishes the progress and closes the HTTP
    client. After a clean run it stamps the column ``stamp`` (``last_import_at``) and clears "needs attention".
    When the app is removed while the hooks run, the context refuses further requests and writes, and the run ends
    in ``AppRemoved`` saying what was stopped.
    ``for_authorization``: see ``Host.context`` (credentials the current key cannot open are None).
    """
    progress = progress or Progress()
    with app_lock(host.home, app.id, app.name, lock, host.database) if lock else nullcontext():
        ctx = host.context(app, progress, for_authorization=for_authorization)
        try:
            yield ctx
        except AppRemoved:
            raise AppRemoved(app.name, WORK.get(lock or "", "this command")) from None
        except OperatorConfigError:
            raise
        except NeedsAttention as exc:
            if app.authorized and not is_removed(host, app):
                mark_attention(host, app, exc.reason)
            raise
        finally:
            progress.finish()
            ctx.http.close()
    if stamp:
        if stamp not in STAMPS:
            raise ValueError(f"not a column a run stamps: {stamp!r}")
        # One statement (every unit stamps; on PostgreSQL a round trip and no write lock): no row when removed.
        status = host.db.write_one(
            f"UPDATE apps SET {stamp} = ? WHERE id = ? AND status != ? RETURNING status",
            (now_text(host), app.id, REMOVED),
        )
        if status and status[0][0] == "needs_attention":
            clear_attention(host, app)
