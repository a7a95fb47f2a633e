"""Sign-in against a real `linkolis serve`, as an attacker tries it: many guesses at once, each under another
address in ``X-Forwarded-For`` (which serve believes from 127.0.0.1, where a proxy sits), and a crowd of sign-ins
that would each take argon2's 64 MiB. The limits hold whatever the concurrency, and memory stays bounded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from served import PASSWORD, serve_process

MIB = 1024 * 1024
# The limits are counted in the serve process's memory, not in the store: each story runs once.
pytestmark = pytest.mark.one_store("sign-in limits and argon2's memory, in the serve process")


def guesses_at_once(served, attempts):
    """Each (e-mail, password, address) attempt on a client of its own, all sent at once; their status codes."""

    def one(attempt):
        email, password, address = attempt
        with served.client() as client:
            return served.sign_in(client, email, password, forwarded_for=address).status_code

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(one, attempts))


def test_twenty_five_guesses_at_once_get_at_most_five_password_checks(tmp_path):
    with serve_process(tmp_path / "home", {"anna@example.com": "Anna's shop"}) as served:
        wrong = [("anna@example.com", f"wrong guess number {n}", f"198.51.100.{n}") for n in range(24)]
        codes = guesses_at_once(served, [*wrong, ("anna@example.com", PASSWORD, "198.51.100.99")])

    checked = [c for c in codes if c != 429]  # 401: a wrong password checked; 200 after the redirect: signed in
    assert len(checked) <= 5, codes
    assert codes.count(429) >= 20


def test_a_new_address_in_x_forwarded_for_for_each_guess_does_not_escape_the_account_limit(tmp_path):
    with serve_process(tmp_path / "home", {"anna@example.com": "Anna's shop"}) as served:
        with served.client() as client:
            codes = [
                served.sign_in(client, "anna@example.com", f"guess {n}", forwarded_for=f"203.0.113.{n}").status_code
                for n in range(5)
            ]
            assert codes == [401] * 5
            locked = served.sign_in(client, "anna@example.com", PASSWORD, forwarded_for="203.0.113.77")
            assert locked.status_code == 429, "even the right password waits now"
            assert "Too many failed attempts" in locked.text


def test_one_address_guessing_across_many_accounts_is_stopped_too(tmp_path):
    with serve_process(tmp_path / "home", {"anna@example.com": "Anna's shop"}) as served:
        with served.client() as client:
            codes = [
                served.sign_in(client, f"user{n}@example.com", "some password", forwarded_for="192.0.2.7").status_code
                for n in range(21)
            ]
    assert codes[:20] == [401] * 20
    assert codes[20] == 429


def test_forty_sign_ins_at_once_do_not_take_forty_times_argon2s_memory(tmp_path):
    """argon2 takes 64 MiB a check: forty at once took serve from 65 MiB to 1,953 MiB. Two run at a time now."""
    with serve_process(tmp_path / "home", {"anna@example.com": "Anna's shop"}) as served:
        with served.client() as client:
            served.sign_in(client, "nobody@example.com", "warm up the hasher", forwarded_for="192.0.2.200")
        before = served.memory("VmRSS")
        served.reset_peak()
        attempts = [(f"stranger{n}@example.com", "a guess", f"192.0.2.{n}") for n in range(40)]
        codes = guesses_at_once(served, attempts)
        peak = served.memory("VmHWM")

    assert set(codes) <= {401, 429}, codes  # no 5xx; 429 only for those that waited too long for their turn
    assert codes.count(401) >= 2, "checked, a couple at a time"
    assert peak - before < 200 * MIB, f"peak {peak / MIB:.0f} MiB from {before / MIB:.0f} MiB"
