"""Where a plugin may send credentials: a marketplace's real address, or an override the operator gave.

An override (a simulator, a sandbox, a proxy) receives the operator's client secret and every seller's tokens, so
it must be HTTPS, or this machine (loopback), or the operator must say in as many words that plain HTTP to another
machine is meant. Every plugin with an endpoint setting checks it the same way with ``check_endpoint``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .errors import OperatorConfigError


def is_loopback(hostname: str) -> bool:
    """``localhost`` or an address of 127.0.0.0/8 or ::1."""
    if hostname.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(
    url: str | None,
    *,
    marketplace: str,
    setting: str,
    allow_setting: str,
    allowed: bool,
    carries: str = "the credentials",
) -> None:
    """Refuse an endpoint override that is not an http(s) URL, or plain HTTP to another machine unless ``allowed``.

    :param marketplace: whose override it is ("Amazon"); :param setting: where the operator set it
        ("LINKOLIS_AMAZON_ENDPOINT / `endpoint` under [plugins.amazon]"); :param allow_setting: how to allow plain
        HTTP anyway; :param carries: what would cross the network ("the client secret and the sellers' tokens").
    :raises OperatorConfigError: with the way out.
    """
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise OperatorConfigError(
            f"the {marketplace} endpoint override {url!r} ({setting}) is not an http(s) URL with a host"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not allowed:
        raise OperatorConfigError(
            f"the {marketplace} endpoint override {url} ({setting}) is plain HTTP to another machine: {carries} "
            "would cross the network unencrypted. Use https://, or a loopback address (127.0.0.1, ::1, localhost); "
            f"to send them anyway, set {allow_setting}"
        )
