"""Signing in and out, and the language a page speaks."""

from __future__ import annotations

from starlette.responses import Response

from .. import sessions, workspaces
from ..errors import TooBusy
from . import auth, i18n
from .pages import Req, page, see_other


@page(signed_in=False)
def signin(req: Req) -> Response:
    if req.request.method == "GET":
        return see_other("/apps") if req.user else req.render("signin.html")
    email, password = req.f("email"), req.f("password")
    client = req.request.client.host if req.request.client else "?"
    attempt = req.web.limiter.attempt(email, client)  # counted before the check: guesses at once count too
    if attempt is None:
        return req.render(
            "signin.html",
            429,
            email=email,
            error=req._("Too many failed attempts. Wait a quarter of an hour and try again."),
        )
    try:
        user = workspaces.authenticate(req.host, email, password)
    except TooBusy:
        return req.render(
            "signin.html", 429, email=email, error=req._("Many people are signing in right now. Try again in a moment.")
        )
    if user is None:
        return req.render("signin.html", 401, email=email, error=req._("Wrong e-mail address or password."))
    req.web.limiter.succeeded(attempt)
    lang = req.session.get("lang")
    auth.sign_in(req.session, sessions.start(req.host, user, req.web.settings.session_policy))
    if lang:
        req.session["lang"] = lang
    return see_other("/apps")


@page(signed_in=False)
def signout(req: Req) -> Response:
    """Signing out ends every session of the user, on every device, server-side (a copied cookie with them)."""
    if req.user is not None:
        workspaces.end_sessions(req.host, req.user.id)
    sessions.end(req.host, req.session.get(auth.SESSION_KEY))
    req.session.clear()
    return see_other("/signin")


@page(signed_in=False)
def language(req: Req) -> Response:
    lang = req.f("lang")
    if lang in i18n.LANGUAGES:
        req.session["lang"] = lang
        if req.user is not None:
            workspaces.set_language(req.host, req.user.id, lang)
    back = req.f("next", "/apps")
    return see_other(back if back.startswith("/") and not back.startswith("//") else "/apps")


@page(signed_in=False)
def home(req: Req) -> Response:
    return see_other("/apps" if req.user else "/signin")
