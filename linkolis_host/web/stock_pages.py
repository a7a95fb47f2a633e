"""The stock page, a SKU's own page, setting a quantity and loading a file."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response

from .. import installed, stock, stock_files, stock_reads
from ..errors import LinkolisError
from .jobs_pages import jobs_view
from .pages import Req, page, see_other


def _stock_view(req: Req, status: int = 200, **extra: Any) -> Response:
    by_sku: dict[str, dict[str, Any]] = {}
    for row in stock.list_stock(req.host):
        entry = by_sku.setdefault(
            row["sku"],
            {"sku": row["sku"], "on_hand": row["on_hand"], "reserved": row["reserved"], "apps": []},
        )
        if row["app"]:
            entry["apps"].append(row)
    sync_apps = [a for a in installed.list_apps(req.host) if a.authorized]
    return req.render("stock.html", status, rows=list(by_sku.values()), apps=sync_apps, jobs=jobs_view(req), **extra)


@page()
def stock_page(req: Req) -> Response:
    return _stock_view(req)


@page()
def stock_sku_page(req: Req) -> Response:
    """One SKU: why it is what it is (``stock_reads.show_stock``), asking each marketplace what it shows."""
    try:
        shown = stock_reads.show_stock(req.host, req.q("sku"), read=True)
    except LinkolisError:
        return req.render("message.html", 404, title=req._("No such SKU"), message="")
    return req.render("stock_sku.html", item=shown)


@page()
def stock_set(req: Req) -> Response:
    try:
        stock.set_stock(req.host, req.f("sku"), req.f("quantity").strip(), by=req.user.email)  # type: ignore[union-attr]
    except LinkolisError as exc:
        return _stock_view(req, 422, error=str(exc), sku=req.f("sku"), quantity=req.f("quantity"))
    return see_other("/stock")


@page()
def stock_upload(req: Req) -> Response:
    upload = req.form.get("file") if req.form is not None else None
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _stock_view(req, 422, error=req._("Choose a CSV file first."))
    try:  # read a piece at a time from where the form parser spooled it (on disk past 1 MB), never whole
        count = stock_files.load_stock_stream(req.host, upload.file, upload.filename, by=req.user.email)  # type: ignore[union-attr]
    except LinkolisError as exc:
        return _stock_view(req, 422, error=str(exc))
    return _stock_view(req, loaded=count)
