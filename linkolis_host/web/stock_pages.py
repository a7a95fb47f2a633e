"""The stock page, a SKU's own page, setting a quantity and loading a file."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response

from .. import installed, stock, stock_files, stock_reads
from ..errors import LinkolisError
from . import advice
from .jobs_pages import jobs_view
from .pages import Req, page, see_other

PAGE_SIZE = 50


def _stock_view(req: Req, status: int = 200, **extra: Any) -> Response:
    """The stock list a page of SKUs at a time, filtered by what a SKU starts with and by state; "Next" and
    "Previous" carry the key of the page's last or first SKU."""
    state = req.q("state") if req.q("state") in stock_reads.STOCK_STATES else ""
    prefix = req.q("sku_prefix").strip()
    shown = stock_reads.stock_page(
        req.host,
        sku=prefix or None,
        state=state or None,
        after=req.q("after") or None,
        before=req.q("before") or None,
        limit=PAGE_SIZE,
    )
    sync_apps = [a for a in installed.list_apps(req.host) if a.authorized]
    return req.render(
        "stock.html",
        status,
        rows=shown.rows,
        apps=sync_apps,
        jobs=jobs_view(req),
        states=stock_reads.STOCK_STATES,
        state=state,
        sku_prefix=prefix,
        next_key=shown.next,
        previous_key=shown.previous,
        filtered=bool(state or prefix),
        **extra,
    )


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
        return _stock_view(
            req, 422, error=advice.sentence(req, exc.as_data()), sku=req.f("sku"), quantity=req.f("quantity")
        )
    return see_other("/stock")


@page()
def stock_upload(req: Req) -> Response:
    upload = req.form.get("file") if req.form is not None else None
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _stock_view(req, 422, error=req._("Choose a CSV file first."))
    try:  # read a piece at a time from where the form parser spooled it (on disk past 1 MB), never whole
        count = stock_files.load_stock_stream(req.host, upload.file, upload.filename, by=req.user.email)  # type: ignore[union-attr]
    except LinkolisError as exc:
        return _stock_view(req, 422, error=advice.sentence(req, exc.as_data()))
    return _stock_view(req, loaded=count)
