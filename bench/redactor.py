"""The log redactor with the thousands of secrets a big host holds: the cost of adding one secret (a new access
token) and of redacting one log line, against the former design (one regular expression of every secret,
rebuilt on every add).

    .venv/bin/python bench/redactor.py [N ...]     (default: 400 2000 10000)
"""

from __future__ import annotations

import re
import secrets
import sys
import time

from linkolis_host.context import Redactor


class RegexRedactor:
    """The former design, for comparison."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, *values: str) -> None:
        self._secrets.update(v for v in values if v and len(v) >= 6)
        ordered = sorted(self._secrets, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    def redact(self, text: str) -> str:
        return self._pattern.sub("[redacted]", text) if self._pattern else text


def token() -> str:
    return "Atza|IwEBI" + secrets.token_urlsafe(300)


def measure(redactor, n: int, adds: int) -> tuple[float, float, float]:
    redactor.add(*(token() for _ in range(n)))
    started = time.perf_counter()
    for _ in range(adds):
        redactor.add(token())
    add_ms = (time.perf_counter() - started) / adds * 1000
    known = token()
    redactor.add(known)
    plain = "GET /orders/v0/orders -> 200 (b6a7c1e2-0d4f-4f4b-9a3e-3f1c2d4e5f60)"
    secret = f"calling the market with token {known}"
    timings = []
    for line in (plain, secret):
        started = time.perf_counter()
        lines = 2000
        for _ in range(lines):
            assert known not in redactor.redact(line)
        timings.append((time.perf_counter() - started) / lines * 1e6)
    return add_ms, *timings


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [400, 2000, 10000]
    print(f"{'secrets':>8} {'design':<7} {'add ms':>9} {'µs/HTTP line':>13} {'µs/token line':>14}")
    for n in sizes:
        for name, redactor, adds in (("regex", RegexRedactor(), 3), ("indexed", Redactor(), 2000)):
            add_ms, plain_us, secret_us = measure(redactor, n, adds)
            print(f"{n:>8,} {name:<7} {add_ms:>9.3f} {plain_us:>13.1f} {secret_us:>14.1f}")
    print(
        "HTTP line: 70 characters, no secret (what -vv logs per call); token line: 430 characters with a 410-character "
        "token; redaction runs only for records emitted at an enabled level"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
