"""The help page: the seller's story in their language, from the sidebar to the banner and back to the wrench and
bin. It names the pages and buttons the seller sees, links to them, and never a command."""

from __future__ import annotations

from starlette.responses import Response

from .pages import Req, page


@page()
def help_page(req: Req) -> Response:
    kinds = sorted((kind.title for kind in req.host.registry.kinds.values()), key=str.casefold)
    return req.render("help.html", kinds=kinds)
