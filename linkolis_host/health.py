"""Whether this installation can serve: what ``GET /readyz`` answers a load balancer or a supervisor.

Each check's problem is a code, never a name, a path or an error's text: the endpoint needs no sign-in, so it
says nothing private. What each code means, and what the operator does about it, is in docs/deployment.md.

- ``database``: the store answers (its problem ``database_unreachable`` when it does not).
- ``migrations``: its schema is the one this code migrates to (``migrations_pending``).
- ``sync``: with authorized apps, some process syncs them: a unit's state changed recently (``sync_not_running``).
  "Recently" is three import rounds and a minute (``[sync] interval``); when every authorized app gets its orders by
  notification, twice the net's interval (``[sync] net_interval``), as their imports run that seldom.
- ``units``: no unit has been running for more than ``STUCK_AFTER`` nor is stalled because the database refuses
  its writes (``units_stuck``, with their count).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from . import installed, postgres, store
from .migrations import migrations

STUCK_AFTER = 30 * 60.0  # seconds a unit may run: longer, and it is stuck (a unit defers long waits, so never this)


class Check(BaseModel):
    """One check: its ``name``, whether it passed, the ``problem`` when not (a code from the list above), and a
    ``count`` where one helps (the authorized apps the sync serves, the units stuck)."""

    name: str
    ok: bool
    problem: str | None = None
    count: int | None = None


class Readiness(BaseModel):
    ready: bool
    checks: list[Check]


UNREACHABLE = Readiness(ready=False, checks=[Check(name="database", ok=False, problem="database_unreachable")])


def readiness(host: Any, now: float | None = None) -> Readiness:
    """The checks above, on ``host``'s store, at ``now`` (default: the host's clock, which the state rows use)."""
    now = host.clock.time() if now is None else now
    checks: list[Check] = []
    try:
        db = host.db
        db.execute("SELECT 1").fetchone()
        checks.append(Check(name="database", ok=True))
        pending = postgres.pending(db) if db.dialect == "postgresql" else migrations.pending(db)
        if pending:
            checks.append(Check(name="migrations", ok=False, problem="migrations_pending", count=len(pending)))
        else:
            checks.append(Check(name="migrations", ok=True))
        checks.append(_sync(host, db, now))
        checks.append(_units(db, now))
    except store.ERRORS:
        return UNREACHABLE
    return Readiness(ready=all(c.ok for c in checks), checks=checks)


def _sync(host: Any, db: Any, now: float) -> Check:
    authorized = db.execute(
        "SELECT COUNT(*) FROM apps WHERE account_id IS NOT NULL AND status NOT IN (?, ?)", installed.HIDDEN
    ).fetchone()[0]
    if not authorized:
        return Check(name="sync", ok=True, count=0)
    notified = db.execute(
        "SELECT COUNT(*) FROM app_notifications n JOIN apps a ON a.id = n.app_id "
        "WHERE n.subscription IS NOT NULL AND a.account_id IS NOT NULL AND a.status NOT IN (?, ?)",
        installed.HIDDEN,
    ).fetchone()[0]
    sync = host.config.sync
    recent = 2 * sync.net_interval if notified >= authorized else 3 * sync.interval + 60
    last = db.execute("SELECT MAX(updated_at) FROM scheduler_state").fetchone()[0]
    ok = last is not None and now - last <= recent
    return Check(name="sync", ok=ok, problem=None if ok else "sync_not_running", count=authorized)


def _units(db: Any, now: float) -> Check:
    stuck = db.execute(
        "SELECT COUNT(*) FROM scheduler_state WHERE (state = 'running' AND updated_at < ?) OR state = 'stalled'",
        (now - STUCK_AFTER,),
    ).fetchone()[0]
    return Check(name="units", ok=not stuck, problem="units_stuck" if stuck else None, count=stuck or None)
