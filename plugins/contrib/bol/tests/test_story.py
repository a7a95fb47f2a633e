"""The seller's story through the CLI against the bol simulator: install, paste the credentials, verify, import,
push stock, ship."""

from __future__ import annotations

from decimal import Decimal


def _merchant_and_fbb(sim):
    truth = sim.offer_truth()
    merchant = sorted(ref for ref, o in truth.items() if not o["fbb"])
    fbb = sorted(ref for ref, o in truth.items() if o["fbb"])
    return merchant, fbb


def test_a_seller_installs_bol_verifies_imports_pushes_stock_and_ships(run, sim, wire, clock, authorized):
    shown = run.json("apps", "show", "bol NL")
    assert shown["account_id"] == sim.client_id
    assert sim.client_secret not in run("apps", "show", "bol NL").stdout

    verified = run.json("apps", "verify", "bol NL")
    assert verified["ok"] and verified["banner"] == "Module correctly installed"
    assert [c["name"] for c in verified["checks"]] == [
        "credentials present",
        "bol token",
        "orders readable",
        "offers readable",
    ]

    imported = run.json("orders", "import", "bol NL")
    truth = sim.orders_truth()
    assert imported["new"] == len(truth)
    listed = run.json("orders", "list", "--app", "bol NL", "--limit", "1000")
    assert {o["marketplace_order_id"] for o in listed} == set(truth)
    fbb_order = next(o for o in truth.values() if all(i.offer.fbb for i in o.items))
    shown = run.json("orders", "show", fbb_order.order_id)
    assert shown["fulfilled_by"] == "marketplace"
    merchant_order = next(o for o in truth.values() if not any(i.offer.fbb for i in o.items))
    shown = run.json("orders", "show", merchant_order.order_id)
    assert shown["fulfilled_by"] == "merchant"
    assert Decimal(shown["total"]) == sum(i.total_price for i in merchant_order.items)

    merchant, fbb = _merchant_and_fbb(sim)
    for n, sku in enumerate(merchant[:3]):
        run("stock", "set", sku, str(5 + n))
    run("stock", "set", fbb[0], "9")
    run("stock", "set", "NOT-ON-BOL", "4")
    pushed = run.json("stock", "push", "bol NL")
    assert (pushed["accepted"], pushed["skipped"], pushed["not_listed"], pushed["rejected"]) == (3, 1, 1, 0)
    truth = sim.offer_truth()
    rows = {r["sku"]: r for r in run.json("stock", "list", "--app", "bol NL")}
    held = [rows[sku]["reserved"] for sku in merchant[:3]]  # the open orders just imported hold these
    assert any(held), "the simulator's open orders hold some of them"
    assert [truth[sku]["stock"] for sku in merchant[:3]] == [max(0, 5 + n - h) for n, h in enumerate(held)]
    assert truth[merchant[0]]["managed_by_retailer"] is True
    assert rows[fbb[0]]["outcome"] == "skipped" and "FBB" in rows[fbb[0]]["message"]
    assert rows["NOT-ON-BOL"]["outcome"] == "not listed here" and "not listed on bol" in rows["NOT-ON-BOL"]["message"]

    # Ship: an open merchant order leaves with PostNL; bol confirms it and the order shows shipped.
    to_ship = next(
        o
        for o in sim.orders_truth().values()
        if all(not i.offer.fbb and i.quantity_shipped == 0 and i.quantity_cancelled == 0 for i in o.items)
    )
    assert run.json("orders", "show", to_ship.order_id)["status"] != "shipped"
    run("orders", "ship", to_ship.order_id, "--carrier", "PostNL", "--tracking", "3SSTORY01")
    shipped = run.json("shipments", "push")
    assert (shipped["sent"], shipped["accepted"], shipped["rejected"]) == (1, 1, 0), shipped["messages"]
    [at_bol] = [s for s in sim.shipments_truth() if s["orderId"] == to_ship.order_id]
    assert (at_bol["transporterCode"], at_bol["trackAndTrace"]) == ("TNT", "3SSTORY01")
    assert at_bol["items"] == [{"orderItemId": i.order_item_id, "quantity": i.quantity} for i in to_ship.items]
    assert all(i.quantity_shipped == i.quantity for i in sim.orders_truth()[to_ship.order_id].items)
    assert run.json("orders", "show", to_ship.order_id)["status"] == "shipped"

    # bol blocks addresses that ask for tokens too often: install, verify, import, push and ship share very few.
    assert sim.tokens_issued() <= 3
    assert wire.count("/token") == sim.tokens_issued()


def test_tokens_are_reused_until_shortly_before_they_expire(run, sim, clock, authorized):
    run("orders", "import", "bol NL")
    first = sim.tokens_issued()
    run("orders", "import", "bol NL")
    assert sim.tokens_issued() == first  # the cached token is still good
    clock.advance(299 - 20)  # inside the last half-minute of its life: not sent any more
    run("orders", "import", "bol NL")
    assert sim.tokens_issued() == first + 1
    merchant, _ = _merchant_and_fbb(sim)
    run("stock", "set", merchant[0], "3")
    run("stock", "push", "bol NL")
    assert sim.tokens_issued() == first + 1


def test_wrong_credentials_are_refused_at_once_and_nothing_is_stored(run, sim):
    run("apps", "install", "bol", "--name", "bol NL")
    result = run(
        "apps",
        "authorize",
        "bol NL",
        "--credential",
        f"client_id={sim.client_id}",
        "--credential",
        "client_secret=-",
        input="not-the-secret\n",
        code=1,
    )
    assert "bol refused the Client ID and Client Secret" in result.stderr
    assert "not-the-secret" not in result.stdout + result.stderr
    assert run.json("apps", "show", "bol NL")["status"] == "installed"
