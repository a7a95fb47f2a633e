"""Imports and pushes started from a page ("Import now", "Push now"), and ``/jobs``, which the pages poll for
their progress."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from .. import installed, orders, stock
from ..errors import LinkolisError
from ..http import duration_text
from . import advice
from .jobs import Job
from .pages import Req, page, see_other


def _job_text(req: Req, job: Job) -> str:
    name = job.app_name
    if job.state == "failed":
        return req._("%(what)s for %(name)s failed: %(error)s") % {
            "what": req._("Import") if job.what == "import" else req._("Push"),
            "name": name,
            "error": advice.sentence(req, job.error),
        }
    if job.what == "import":
        if job.state == "running":
            return req._("Importing orders for %(name)s: %(done)s so far") % {"name": name, "done": job.done}
        return req._("Import finished for %(name)s: %(new)s new, %(updated)s updated orders") % {
            "name": name,
            "new": job.summary.get("new", 0),
            "updated": job.summary.get("updated", 0),
        }
    if job.state == "running":
        return req._("Pushing stock for %(name)s: %(done)s sent") % {"name": name, "done": job.done}
    if job.summary.get("note"):
        return req._("Nothing pushed for %(name)s: stock update sync is off") % {"name": name}
    return req._("Push finished for %(name)s: %(accepted)s accepted, %(rejected)s rejected, %(pending)s pending") % {
        "name": name,
        **{k: job.summary.get(k, 0) for k in ("accepted", "rejected", "pending")},
    }


def jobs_view(req: Req) -> list[dict[str, Any]]:
    if req.user is None:
        return []
    return [
        {
            "app": j.app_name,
            "what": j.what,
            "state": j.state,
            "done": j.done,
            "total": j.total,
            "text": _job_text(req, j),
        }
        for j in req.web.jobs.of_workspace(req.user.workspace_id)
    ]


def _import_waits(req: Req, app: installed.App) -> Response | None:
    """A page saying why an import of ``app`` does not start now (one runs, or its quota's next turn is later);
    None when it may start. Nothing is queued: the seller presses again when the page says."""
    wait = orders.next_import(req.host, app)
    if wait is None:
        return None
    if wait.running:
        message = req._("An import of %(name)s is running now; its orders appear as it goes.") % {"name": app.name}
    else:
        message = req._(
            "%(name)s imported orders a moment ago. Its marketplace allows the next import in %(wait)s; "
            "the background sync imports on its own meanwhile."
        ) % {"name": app.name, "wait": duration_text(wait.seconds)}
    return req.render("message.html", 429, title=req._("Not started"), message=message)


def _start_job(req: Req, what: str) -> Response:
    try:
        app = installed.get(req.host, req.f("app"))
        installed.require_authorized(app)
    except LinkolisError as exc:
        data = exc.as_data()
        return req.render(
            "message.html",
            409,
            title=req._("Not started"),
            message=advice.sentence(req, data),
            button=advice.button(req, data["action"], data["app"], data["param"]),
        )
    if what == "import" and (waits := _import_waits(req, app)) is not None:
        return waits
    web = req.web
    job = Job(workspace_id=req.user.workspace_id, app_id=app.id, app_name=app.name, what=what)  # type: ignore

    def work(job: Job) -> dict[str, Any]:
        host = web.fork(job.workspace_id)
        try:
            if what == "import":
                return orders.import_orders(host, app.name, progress=job)
            return stock.push_stock(host, app.name, progress=job)
        finally:
            host.close()

    web.jobs.start(job, work)
    back = req.f("next", "/apps")
    return see_other(back if back.startswith("/") and not back.startswith("//") else "/apps")


@page()
def import_now(req: Req) -> Response:
    return _start_job(req, "import")


@page()
def push_now(req: Req) -> Response:
    return _start_job(req, "push")


@page()
def jobs_json(req: Req) -> Response:
    return JSONResponse({"jobs": jobs_view(req)})
