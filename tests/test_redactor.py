"""The log redactor: every secret the host has seen stays out of the logs, however many a big host holds, and
an access token is forgotten once it has expired (a host renews one per app every hour)."""

from __future__ import annotations

import logging

import pytest

from linkolis_host.context import Redactor

pytestmark = pytest.mark.no_store


class Ticking:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_every_secret_is_redacted_wherever_it_shows_among_thousands():
    redactor = Redactor()
    secrets = [f"Atza|IwEBI{n:05d}-token-of-seller" for n in range(10_000)]
    redactor.add(*secrets)
    redactor.add("client-secret-of-the-operator", "short")

    line = f"GET /orders token={secrets[7]}&again={secrets[9_999]}{secrets[7]} secret client-secret-of-the-operator"

    assert redactor.redact(line) == "GET /orders token=[redacted]&again=[redacted] secret [redacted]"
    assert redactor.redact("a short value is no secret: short") == "a short value is no secret: short"
    assert len(redactor) == 10_001


def test_overlapping_secrets_show_no_part_of_either():
    redactor = Redactor()
    redactor.add("abcdefgh", "efghijkl", "ghij-longer")

    assert redactor.redact("x abcdefghijkl y ghij-longer z") == "x [redacted] y [redacted] z"


def test_a_log_record_with_a_secret_in_its_arguments_is_printed_redacted(caplog):
    redactor = Redactor()
    redactor.add("Atzr|refresh-token-1")
    logger = logging.getLogger("linkolis.test.redactor")
    handler = logging.Handler()
    seen = []
    handler.emit = lambda record: seen.append(record.getMessage())
    handler.addFilter(redactor)
    logger.addHandler(handler)
    try:
        logger.warning("refreshing with %s", "Atzr|refresh-token-1")
    finally:
        logger.removeHandler(handler)

    assert seen == ["refreshing with [redacted]"]


def test_an_expired_access_token_is_forgotten_and_a_lasting_secret_is_not():
    now = Ticking()
    redactor = Redactor(now=now)
    redactor.add("Atzr|refresh-token-kept")
    redactor.add("Atza|access-token-hour-1", lifetime=3600)

    now.now += 3600 + Redactor.GRACE - 1  # expired, but a line about it may still come
    assert redactor.redact("Atza|access-token-hour-1") == "[redacted]"

    now.now += 2
    redactor.add("Atza|access-token-hour-2", lifetime=3600)
    assert "Atza|access-token-hour-1" not in redactor
    assert "Atza|access-token-hour-2" in redactor and "Atzr|refresh-token-kept" in redactor
    assert len(redactor) == 2


def test_a_secret_added_again_for_good_or_for_longer_is_kept_that_long():
    now = Ticking()
    redactor = Redactor(now=now)
    redactor.add("Atza|token-seen-twice", lifetime=60)
    redactor.add("Atza|token-renewed-life", lifetime=60)
    redactor.add("Atza|token-seen-twice")  # also a credential: never forgotten
    redactor.add("Atza|token-renewed-life", lifetime=7200)

    now.now += 60 + Redactor.GRACE + 1
    assert redactor.redact("") == ""  # a redaction forgets lazily too
    assert "Atza|token-seen-twice" in redactor and "Atza|token-renewed-life" in redactor

    now.now += 7200
    assert redactor.redact("Atza|token-renewed-life") == "Atza|token-renewed-life"
    assert "Atza|token-seen-twice" in redactor
