"""Login with Amazon: ``POST /auth/o2/token`` for authorization codes, refresh tokens and grantless scopes."""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from urllib.parse import unquote

from linkolis_host.testing.simulator import SimRequest, SimResponse, json_response

from .ids import IdSource

ACCESS_TOKEN_SECONDS = 3600
CODE_SECONDS = 300  # "The LWA authorization code expires after five minutes."
GRANTLESS_SCOPES = {"sellingpartnerapi::notifications", "sellingpartnerapi::client_credential:rotation"}

DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.sim0000000000000000000000000000000"
# Deliberately not 20 hex digits after "v1.": a repository guard flags anything shaped like a real secret.
DEFAULT_CLIENT_SECRET = "amzn1.oa2-cs.v1.sim-throwaway-secret"
DEFAULT_APPLICATION_ID = "amzn1.sellerapps.app.sim00000-0000-4000-8000-000000000000"

_LWA_HEADERS = [("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache")]


@dataclass
class AuthCode:
    code: str
    selling_partner_id: str
    redirect_uri: str
    issued: float
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    selling_partner_id: str
    client_id: str
    issued: float
    revoked: bool = False


@dataclass
class AccessToken:
    token: str
    selling_partner_id: str | None  # None for grantless tokens
    scope: str | None
    expires: float
    refresh_token: str | None = None


def _error(status: int, error: str, description: str) -> SimResponse:
    return json_response(status, {"error_description": description, "error": error}, _LWA_HEADERS)


@dataclass
class LwaService:
    """Codes and tokens of one LWA client (the simulated app)."""

    client_id: str
    client_secret: str
    ids: IdSource
    codes: dict[str, AuthCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _issued_since_purge: int = 0

    # --- issuing ------------------------------------------------------------------------------------------------

    def issue_code(self, selling_partner_id: str, redirect_uri: str, now: float) -> str:
        with self._lock:
            code = self.ids.auth_code()
            self.codes[code] = AuthCode(code, selling_partner_id, redirect_uri, now)
            return code

    def issue_refresh_token(self, selling_partner_id: str, now: float) -> str:
        """A refresh token for an account, as self-authorization in Seller Central gives one."""
        with self._lock:
            token = self.ids.refresh_token()
            self.refresh_tokens[token] = RefreshToken(token, selling_partner_id, self.client_id, now)
            return token

    def _issue_access(self, partner: str | None, scope: str | None, now: float, refresh: str | None) -> AccessToken:
        with self._lock:
            self._issued_since_purge += 1
            if self._issued_since_purge >= 1000:
                self._purge(now)
            tok = AccessToken(self.ids.access_token(), partner, scope, now + ACCESS_TOKEN_SECONDS, refresh)
            self.access_tokens[tok.token] = tok
            return tok

    def _purge(self, now: float) -> None:
        self._issued_since_purge = 0
        for k in [k for k, t in self.access_tokens.items() if t.expires <= now]:
            del self.access_tokens[k]
        for k in [k for k, c in self.codes.items() if c.issued + CODE_SECONDS < now]:
            del self.codes[k]

    # --- checking -----------------------------------------------------------------------------------------------

    def access(self, token: str | None, now: float) -> tuple[AccessToken | None, str]:
        """The access token's record if it is usable now, else ``(None, why)``."""
        if not token:
            return None, "Access token is missing in the request header."
        with self._lock:
            rec = self.access_tokens.get(token)
            if rec is None:
                return None, "The access token you provided is revoked, malformed or invalid."
            if rec.expires <= now:
                return None, "The access token you provided has expired."
            if rec.refresh_token is not None:
                rt = self.refresh_tokens.get(rec.refresh_token)
                if rt is not None and rt.revoked:
                    return None, "The access token you provided is revoked, malformed or invalid."
            return rec, ""

    def revoke(self, token: str | None = None, selling_partner_id: str | None = None) -> int:
        """Revoke one refresh token, or every one of an account (the seller removed the app). Access tokens minted
        from a revoked refresh token stop working too. Returns how many were revoked."""
        with self._lock:
            n = 0
            for rt in self.refresh_tokens.values():
                if rt.revoked:
                    continue
                if (token is not None and rt.token == token) or (
                    selling_partner_id is not None and rt.selling_partner_id == selling_partner_id
                ):
                    rt.revoked = True
                    n += 1
            return n

    # --- the endpoint -------------------------------------------------------------------------------------------

    def _client(self, req: SimRequest, form: dict[str, str]) -> tuple[str | None, str | None]:
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:].strip()).decode("utf-8")
                cid, _, secret = raw.partition(":")
                return unquote(cid), unquote(secret)
            except ValueError:
                return None, None
        return form.get("client_id"), form.get("client_secret")

    def token_endpoint(self, req: SimRequest, now: float, revoke_presented: bool = False) -> SimResponse:
        """``POST /auth/o2/token``. ``revoke_presented`` (a fault) revokes a presented refresh token first."""
        if req.method != "POST":
            return _error(405, "invalid_request", "The token endpoint accepts POST only.")
        form = req.form()
        grant = form.get("grant_type")
        if not grant:
            return _error(400, "invalid_request", "The request is missing a required parameter : grant_type")
        if grant not in ("authorization_code", "refresh_token", "client_credentials"):
            return _error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server",
            )
        cid, secret = self._client(req, form)
        if not cid:
            return _error(400, "invalid_request", "The request is missing a required parameter : client_id")
        if cid != self.client_id or secret != self.client_secret:
            return _error(401, "invalid_client", "Client authentication failed")
        with self._lock:
            if grant == "authorization_code":
                return self._code_grant(form, now)
            if grant == "refresh_token":
                return self._refresh_grant(form, now, revoke_presented)
            return self._client_credentials(form, now)

    def _code_grant(self, form: dict[str, str], now: float) -> SimResponse:
        code = form.get("code")
        if not code:
            return _error(400, "invalid_request", "The request is missing a required parameter : code")
        rec = self.codes.get(code)
        if rec is None or rec.used or now - rec.issued > CODE_SECONDS:
            if rec is not None:
                rec.used = True  # a replayed or late code is burnt either way
            return _error(400, "invalid_grant", "The request has an invalid grant parameter : code")
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri:
            return _error(400, "invalid_request", "The request is missing a required parameter : redirect_uri")
        if redirect_uri != rec.redirect_uri:
            return _error(400, "invalid_grant", "The request has an invalid grant parameter : redirect_uri")
        rec.used = True
        refresh = self.issue_refresh_token(rec.selling_partner_id, now)
        tok = self._issue_access(rec.selling_partner_id, None, now, refresh)
        body = {
            "access_token": tok.token,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
        }
        return json_response(200, body, _LWA_HEADERS)

    def _refresh_grant(self, form: dict[str, str], now: float, revoke_presented: bool) -> SimResponse:
        token = form.get("refresh_token")
        if not token:
            return _error(400, "invalid_request", "The request is missing a required parameter : refresh_token")
        rec = self.refresh_tokens.get(token)
        if rec is not None and revoke_presented:
            rec.revoked = True
        if rec is None or rec.revoked or rec.client_id != self.client_id:
            return _error(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
        tok = self._issue_access(rec.selling_partner_id, None, now, token)
        body = {
            "access_token": tok.token,
            "refresh_token": token,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
        }
        return json_response(200, body, _LWA_HEADERS)

    def _client_credentials(self, form: dict[str, str], now: float) -> SimResponse:
        scope = form.get("scope")
        if not scope:
            return _error(400, "invalid_request", "The request is missing a required parameter : scope")
        if scope not in GRANTLESS_SCOPES:
            return _error(400, "invalid_scope", "An unknown scope was requested")
        tok = self._issue_access(None, scope, now, None)
        body = {"access_token": tok.token, "scope": scope, "token_type": "bearer", "expires_in": ACCESS_TOKEN_SECONDS}
        return json_response(200, body, _LWA_HEADERS)
