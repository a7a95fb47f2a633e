"""Amazon's answers read as data, and its errors: shared by Login with Amazon (``lwa``) and the SP-API client
(``client``), so that neither imports the other's module for them."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import httpx

from linkolis_host import RemoteError


class SpApiError(RemoteError):
    """An SP-API call answered with an error: ``code`` is Amazon's (Unauthorized, InvalidInput, NotFound…)."""

    def __init__(self, message: str, *, status: int, code: str = "", request_id: str | None = None, body=None):
        super().__init__(message, status=status, request_id=request_id, body=body)
        self.code = code


class GarbledAnswer(SpApiError):
    """Amazon's answer was cut off or is not the JSON object it should be: asking again can cure it."""


def retryable(exc: SpApiError) -> bool:
    """Whether asking again could help: a garbled answer, throttling, or Amazon's own failure."""
    return isinstance(exc, GarbledAnswer) or exc.status >= 500 or exc.status == 429


def parse_json(response: httpx.Response, operation: str, *, gzipped: bool = False) -> dict[str, Any]:
    """The JSON object in ``response`` (gunzipped first when ``gzipped``), or ``GarbledAnswer``.

    Every body the app reads from Amazon goes through here, so a cut-off or non-JSON answer is one clear,
    retryable error and never a traceback.
    """
    data = response.content
    try:
        if gzipped:
            data = gzip.decompress(data)
        body = json.loads(data)
    except (ValueError, EOFError, OSError, zlib.error):
        body = None
    if isinstance(body, dict):
        return body
    request_id = response.headers.get("x-amzn-requestid")
    text = (
        f"{operation}: Amazon's answer ({response.status_code}, {len(response.content)} bytes) was cut off or "
        "is not JSON; it is asked for again next time"
    )
    if request_id:
        text += f" [request id {request_id}]"
    raise GarbledAnswer(text, status=response.status_code, request_id=request_id)


def error_of(response: httpx.Response, operation: str) -> SpApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = (body or {}).get("errors") if isinstance(body, dict) else None
    first = errors[0] if errors else {}
    code = first.get("code", "")
    message = first.get("message", response.reason_phrase)
    details = first.get("details")
    request_id = response.headers.get("x-amzn-requestid")
    text = f"{operation}: Amazon answered {response.status_code} {code}: {message}" + (
        f" ({details})" if details else ""
    )
    if request_id:
        text += f" [request id {request_id}]"
    return SpApiError(text, status=response.status_code, code=code, request_id=request_id, body=body)
