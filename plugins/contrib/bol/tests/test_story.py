"""The seller's story through the CLI against the bol simulator: install, paste the credentials, verify, import,
push stock."""

from __future__ import annotations


def test_a_seller_installs_bol_verifies_imports_and_pushes_stock(run, sim, wire, authorized):
    shown = run.json("apps", "show", "bol NL")
    assert shown["account_id"] == sim.client_id
    assert sim.client_secret not in run("apps", "show", "bol NL").stdout

    verified = run.json("apps", "verify", "bol NL")
    print(verified)
