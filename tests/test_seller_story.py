"""The seller's whole story with the test plugin, through the CLI: catalog to removal."""

from __future__ import annotations


def test_a_seller_installs_authorizes_verifies_imports_pushes_and_removes_an_app(run, market, browser):
    catalog = run.json("catalog")
    assert [entry["kind"] for entry in catalog] == ["testmarket"]

    installed = run.json("apps", "install", "testmarket", "--name", "Shop EU", "--region", "eu", "--stock-sync")
    assert installed["status"] == "installed"
    assert installed["settings"]["region"] == "EU"

    authorized = run.json("apps", "authorize", "Shop EU", "--port", "0")
    assert authorized["status"] == "authorized"
    assert authorized["account_id"] == "SELLER1"
    assert browser.visited and "state=" in browser.visited[0]

    verified = run("apps", "verify", "shop eu")
    assert "Module correctly installed" in verified.stdout
    assert run.json("apps", "show", "Shop EU")["status"] == "verified"

    market.add_order("O-1", updated=1)
    market.add_order("O-2", updated=2, lines=3)
    market.add_order("O-3", updated=3)
    summary = run.json("orders", "import", "Shop EU")
    assert (summary["new"], summary["updated"], summary["batches"]) == (3, 0, 2)
    assert len(run.json("orders", "list")) == 3
    assert len(run.json("orders", "show", "O-2")["lines"]) == 3

    run("stock", "set", "SKU-A", "5")
    pushed = run.json("stock", "push")
    assert (pushed["sent"], pushed["accepted"]) == (1, 1)
    assert market.listings == {"SKU-A": 5}
    listed = {r["sku"]: r for r in run.json("stock", "list")}
    assert listed["SKU-A"]["outcome"] == "accepted"
    assert (listed["SKU-0"]["on_hand"], listed["SKU-0"]["reserved"]) == (None, 3), (
        "the open orders' lines, never counted"
    )

    run("apps", "remove", "Shop EU", "--yes")
    assert run.json("apps", "list") == []
    assert len(run.json("orders", "list")) == 3, "orders are kept unless --purge"
