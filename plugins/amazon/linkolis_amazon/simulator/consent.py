"""Seller Central's website authorization workflow: the consent page, Confirm/Cancel, the optional log-in URI step.

Error pages carry Amazon's documented codes: MD1000 (draft app without ``version=beta``), MD5101 (redirect URI not
registered, or not https), MD5110 (redirect URI with a fragment), MD4100 (unknown application). A consent request
without ``state`` is refused too (MD9999, the simulator's own code: Amazon documents no answer for it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlsplit

from linkolis_host.testing.simulator import SimRequest, SimResponse

from .accounts import (
    DIRECT_TO_CONSUMER_SHIPPING,
    FINANCE_AND_ACCOUNTING,
    INVENTORY_AND_ORDER_TRACKING,
    PRODUCT_LISTING,
    TAX_INVOICING,
    Account,
)
from .ids import IdSource
from .lwa import LwaService
from .marketplaces import MARKETPLACES
from .wire import add_query, html_response, redirect

SESSION_SECONDS = 1800
AMAZON_STATE_SECONDS = 600
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

ROLE_TEXT = {
    INVENTORY_AND_ORDER_TRACKING: "Inventory and Order Tracking — view your orders and their status",
    PRODUCT_LISTING: "Product Listing — read your listings and update their stock (quantity)",
    FINANCE_AND_ACCOUNTING: "Finance and Accounting — see the marketplaces you sell in",
    DIRECT_TO_CONSUMER_SHIPPING: "Direct-to-Consumer Shipping (Restricted) — see shipping addresses of orders",
    TAX_INVOICING: "Tax Invoicing (Restricted) — see buyer names for invoices",
}


@dataclass
class AppRegistration:
    """The simulated app as registered in the Solution Provider Portal."""

    application_id: str
    name: str = "Linkolis (simulated app)"
    redirect_uris: list[str] = field(default_factory=list)
    draft: bool = False
    login_uri: str | None = None
    roles: list[str] = field(default_factory=lambda: list(ROLE_TEXT))
    # Not Amazon behaviour: a development path for a loopback receiver (``http://127.0.0.1:<any port>/…``).
    allow_loopback_redirects: bool = False

    def redirect_allowed(self, uri: str) -> bool:
        """As Amazon: a registered https redirect URI, nothing else. With ``allow_loopback_redirects`` (not Amazon
        behaviour) also any ``http://`` loopback address, registered or not."""
        parts = urlsplit(uri)
        if parts.scheme == "https" and uri in self.redirect_uris:
            return True
        return self.allow_loopback_redirects and parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


@dataclass
class _Session:
    state: str | None
    redirect_uri: str
    beta: bool
    created: float


@dataclass
class _AmazonState:
    selling_partner_id: str
    redirect_uri: str
    created: float
    used: bool = False


class ConsentError(Exception):
    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.text = status, code, text


@dataclass
class ConsentService:
    app: AppRegistration
    lwa: LwaService
    ids: IdSource
    accounts: Callable[[], dict[str, Account]]
    default_account: Callable[[], str]
    sessions: dict[str, _Session] = field(default_factory=dict)
    amazon_states: dict[str, _AmazonState] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- pages --------------------------------------------------------------------------------------------------

    def error_page(self, err: ConsentError, application_id: str | None) -> SimResponse:
        body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Something went wrong</title></head>
<body>
<h1>Something went wrong</h1>
<p>We are sorry but we encountered an error while processing your request.</p>
<p>Please contact Selling Partner Support and provide them with the following information:</p>
<p>App ID: <span id="app-id">{escape(application_id or "")}</span></p>
<p>Error Code: <span id="error-code">{escape(err.code)}</span></p>
<p class="sim-detail">{escape(err.text)}</p>
</body></html>"""
        return html_response(err.status, body)

    def _check_app(self, application_id: str | None, beta: bool) -> None:
        if application_id != self.app.application_id:
            raise ConsentError(404, "MD4100", "Unable to find the application.")
        if self.app.draft and not beta:
            raise ConsentError(400, "MD1000", "The application is in Draft state: add version=beta to authorize it.")

    def _pick_redirect(self, redirect_uri: str | None) -> str:
        if redirect_uri:
            if "#" in redirect_uri:
                raise ConsentError(400, "MD5110", "The redirect URI contains a fragment.")
            if not self.app.redirect_allowed(redirect_uri):
                raise ConsentError(
                    400,
                    "MD5101",
                    "The redirect URI is not one of the app's OAuth Redirect URIs"
                    + ("" if redirect_uri.startswith("https://") else " (Amazon accepts only https)")
                    + ".",
                )
            return redirect_uri
        if not self.app.redirect_uris:
            raise ConsentError(400, "MD5101", "No redirect_uri given and the app has no registered OAuth Redirect URI.")
        if not self.app.redirect_allowed(self.app.redirect_uris[0]):
            raise ConsentError(400, "MD5101", "The app's first OAuth Redirect URI is not https.")
        return self.app.redirect_uris[0]

    def consent_page(self, req: SimRequest, now: float) -> SimResponse:
        """``GET /apps/authorize/consent``."""
        app_id = req.q("application_id")
        try:
            beta = req.q("version") == "beta"
            self._check_app(app_id, beta)
            redirect_uri = self._pick_redirect(req.q("redirect_uri"))
            if not req.q("state"):
                raise ConsentError(
                    400,
                    "MD9999",
                    "The request has no state parameter: the app must send one, "
                    "unique to the user, to protect its redirect against forgery.",
                )
        except ConsentError as err:
            return self.error_page(err, app_id)
        accounts = self.accounts()
        chosen = req.q("selling_partner_id") or self.default_account()
        if chosen not in accounts:
            return self.error_page(ConsentError(400, "MD9100", f"Unknown selling account {chosen}."), app_id)
        with self._lock:
            sid = self.ids.opaque(40)
            self.sessions[sid] = _Session(req.q("state"), redirect_uri, beta, now)
        return html_response(200, self._render(sid, accounts, chosen, beta))

    def _render(self, sid: str, accounts: dict[str, Account], chosen: str, beta: bool) -> str:
        acct = accounts[chosen]
        markets = ", ".join(MARKETPLACES[m].name for m in acct.marketplace_ids)
        options = "\n".join(
            f'<option value="{escape(a.selling_partner_id)}"{" selected" if a.selling_partner_id == chosen else ""}>'
            f"{escape(a.store_name)} ({escape(a.selling_partner_id)})</option>"
            for a in accounts.values()
        )
        perms = "\n".join(f"<li>{escape(ROLE_TEXT.get(r, r))}</li>" for r in self.app.roles)
        draft = '<p class="draft">This is a draft (beta) version of the app.</p>' if beta else ""
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<title>Authorize {escape(self.app.name)} — Seller Central (simulated)</title></head>
<body>
<h1>Authorize <span id="app-name">{escape(self.app.name)}</span>?</h1>
{draft}
<p>Signed in as <strong id="store-name">{escape(acct.store_name)}</strong>. Marketplaces:
<span id="marketplaces">{escape(markets)}</span>.</p>
<p>{escape(self.app.name)} is asking for access to:</p>
<ul id="permissions">
{perms}
</ul>
<form method="post" action="/apps/authorize/consent">
<input type="hidden" name="consent_session" value="{escape(sid)}">
<label>Selling account <select name="selling_partner_id">
{options}
</select></label>
<button type="submit" name="action" value="confirm">Confirm</button>
<button type="submit" name="action" value="cancel">Cancel</button>
</form>
<p><small>Local simulator of Seller Central: no Amazon account is involved.</small></p>
</body></html>"""

    def consent_submit(self, req: SimRequest, now: float) -> SimResponse:
        """``POST /apps/authorize/consent``: the Confirm or Cancel button."""
        form = req.form()
        with self._lock:
            session = self.sessions.pop(form.get("consent_session", ""), None)
        if session is None or now - session.created > SESSION_SECONDS:
            return self.error_page(
                ConsentError(400, "MD9999", "The consent page expired or was already used."), self.app.application_id
            )
        state = [("state", session.state)] if session.state is not None else []
        if form.get("action") != "confirm":
            params = [
                ("error", "access_denied"),
                ("error_description", "The selling partner denied the authorization request."),
                *state,
            ]
            return redirect(add_query(session.redirect_uri, params))
        partner = form.get("selling_partner_id") or self.default_account()
        if partner not in self.accounts():
            return self.error_page(
                ConsentError(400, "MD9100", f"Unknown selling account {partner}."), self.app.application_id
            )
        if self.app.login_uri:
            with self._lock:
                amazon_state = self.ids.opaque(32)
                self.amazon_states[amazon_state] = _AmazonState(partner, session.redirect_uri, now)
            callback = f"{req.base_url}/apps/authorize/confirm/{self.app.application_id}"
            params = [
                ("amazon_callback_uri", callback),
                ("amazon_state", amazon_state),
                ("selling_partner_id", partner),
            ]
            if session.beta:
                params.append(("version", "beta"))
            return redirect(add_query(self.app.login_uri, params))
        return self._code_redirect(partner, session.redirect_uri, session.state, now)

    def confirm_callback(self, req: SimRequest, application_id: str, now: float) -> SimResponse:
        """``GET /apps/authorize/confirm/{application_id}``: where the app's log-in page sends the browser back."""
        try:
            self._check_app(application_id, req.q("version") == "beta")
            with self._lock:
                st = self.amazon_states.get(req.q("amazon_state") or "")
                if st is None or st.used or now - st.created > AMAZON_STATE_SECONDS:
                    raise ConsentError(400, "MD9999", "Unknown, used or expired amazon_state.")
                st.used = True
            redirect_uri = self._pick_redirect(req.q("redirect_uri")) if req.q("redirect_uri") else st.redirect_uri
        except ConsentError as err:
            return self.error_page(err, application_id)
        return self._code_redirect(st.selling_partner_id, redirect_uri, req.q("state"), now)

    def _code_redirect(self, partner: str, redirect_uri: str, state: str | None, now: float) -> SimResponse:
        code = self.lwa.issue_code(partner, redirect_uri, now)
        params = [("state", state)] if state is not None else []
        params += [("selling_partner_id", partner), ("spapi_oauth_code", code)]
        return redirect(add_query(redirect_uri, params))
