"""A seller marks orders shipped; each tracking number reaches the marketplace once, whatever happens on the way."""

from __future__ import annotations

import pytest
import testmarket
from helpers import authorize_app, dump_database, install_app

from linkolis_host import ShipmentOutcome, apps, orders, shipments
from linkolis_host.errors import PluginError, UserError
from linkolis_host.host import Host


@pytest.fixture
def shop(run, market):
    """An authorized "Shop EU" with three imported orders: A-1 (one item), A-2 (three of SKU-0, two of SKU-1), A-3."""
    market.add_order("A-1")
    market.add_order("A-2", updated=2)
    market.details["A-2"] = {
        "lines": [
            {"line_id": "0", "sku": "SKU-0", "quantity_ordered": 3},
            {"line_id": "1", "sku": "SKU-1", "quantity_ordered": 2},
        ]
    }
    market.add_order("A-3", updated=3)
    install_app(run)
    authorize_app(run)
    run("orders", "import")
    return "Shop EU"


def confirmed(market) -> dict[tuple[str, str], str]:
    return {key: s.tracking_number for key, s in market.shipments.items()}


def test_hook_push_shipments(run, market, shop):
    shipped = run.json("orders", "ship", "A-1", "--carrier", "dhl", "--tracking", "JJD0001", "--method", "Paket")
    assert shipped["status"] == "due" and shipped["package_reference"] == "1" and shipped["carrier_code"] == "DHL"

    pushed = run.json("shipments", "push")
    assert (pushed["sent"], pushed["accepted"]) == (1, 1)
    [(hook, ctx, args)] = [s for s in market.seen if s[0] == "push_shipments"]
    [sent] = args["shipments"]
    assert ctx.app.name == "Shop EU"
    assert (sent.marketplace_order_id, sent.package_reference, sent.lines) == ("A-1", "1", [("0", 1)])
    assert (sent.carrier_code, sent.carrier_name, sent.tracking_number, sent.shipping_method) == (
        "DHL",
        None,
        "JJD0001",
        "Paket",
    )
    assert sent.ship_date.tzinfo is not None and not sent.resent and sent.fulfilled_by == "merchant"
    order = run.json("orders", "show", "A-1")
    assert order["status"] == "shipped" and order["lines"][0]["quantity_shipped"] == 1
    assert order["history"][-1]["status"] == "shipped"
    assert run.json("shipments", "list")[0]["status"] == "accepted"
    assert run.json("shipments", "push")["sent"] == 0  # sent once: nothing more to send


def test_a_carrier_the_plugin_does_not_list_is_sent_by_name(run, market, shop):
    run("orders", "ship", "A-1", "--carrier", "Bode Koeriers", "--tracking", "BK-77")
    run("shipments", "push")
    [sent] = market.shipments.values()
    assert (sent.carrier_code, sent.carrier_name) == ("Bode Koeriers", "Bode Koeriers")


def test_recording_the_same_shipment_twice_changes_nothing(run, host, market, shop, tmp_path):
    run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "JJD0001")
    before = dump_database(host.db_path)
    again = run.json("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "JJD0001")
    assert again["existing"] is True
    assert "Already recorded" in run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "JJD0001").stdout
    file = tmp_path / "shipped.csv"
    file.write_text("order,carrier,tracking\nA-1,DHL,JJD0001\n")
    assert run.json("shipments", "load", str(file)) == {"recorded": 0, "unchanged": 1}
    assert dump_database(host.db_path) == before


def test_partial_shipments_add_up_and_never_exceed_what_was_ordered(run, market, shop):
    first = run.json("orders", "ship", "A-2", "--carrier", "DHL", "--tracking", "P1", "--line", "SKU-0=2")
    assert first["lines"] == [{"line_id": "0", "quantity": 2}]
    over = run("orders", "ship", "A-2", "--carrier", "DHL", "--tracking", "P2", "--line", "0=2", code=1)
    assert "2 is more than is left to ship (only 1 is left)" in over.stderr
    run("shipments", "push")
    assert run.json("orders", "show", "A-2")["status"] == "partially_shipped"
    rest = run.json("orders", "ship", "A-2", "--carrier", "DPD", "--tracking", "P3")  # no --line: all that is left
    assert rest["package_reference"] == "2"
    assert rest["lines"] == [{"line_id": "0", "quantity": 1}, {"line_id": "1", "quantity": 2}]
    run("shipments", "push")
    order = run.json("orders", "show", "A-2")
    assert order["status"] == "shipped" and [line["quantity_shipped"] for line in order["lines"]] == [3, 2]
    assert [h["status"] for h in order["history"]][-2:] == ["partially_shipped", "shipped"]
    done = run("orders", "ship", "A-2", "--carrier", "DPD", "--tracking", "P4", code=1)
    assert "nothing is left to ship" in done.stderr
    unknown = run("orders", "ship", "A-2", "--carrier", "DPD", "--tracking", "P5", "--line", "SKU-9=1", code=1)
    assert "'SKU-9': it is not an item of the order" in unknown.stderr
    assert sorted(confirmed(market)) == [("A-2", "1"), ("A-2", "2")]


def test_cancelled_and_marketplace_fulfilled_orders_are_refused_at_input(run, market):
    market.add_order("C-1", status="CANCELLED")
    market.add_order("F-1", updated=2)
    market.details["F-1"] = {"fulfilled_by": "marketplace"}
    install_app(run)
    authorize_app(run)
    run("orders", "import")
    cancelled = run("orders", "ship", "C-1", "--carrier", "DHL", "--tracking", "X1", code=1)
    assert "order C-1 was cancelled at the marketplace: do not ship it" in cancelled.stderr
    fba = run("orders", "ship", "F-1", "--carrier", "DHL", "--tracking", "X2", code=1)
    assert "fulfilled by the marketplace" in fba.stderr and "Traceback" not in fba.output
    assert run.json("shipments", "list") == []


def test_an_order_cancelled_after_the_shipment_was_recorded_is_never_sent(run, market, shop):
    run("orders", "ship", "A-3", "--carrier", "DHL", "--tracking", "LATE-1")
    market.orders["A-3"].update(status="CANCELLED", updated=10)  # the buyer cancelled; the next sync sees it
    [result] = run.json("sync")
    assert result["shipments"]["refused"] == 1 and result["shipments"]["sent"] == 0
    [row] = run.json("shipments", "list", "--status", "refused")
    assert "cancelled at the marketplace after this shipment was recorded" in row["message"]
    assert market.shipments == {} and market.confirm_calls == 0
    assert run.json("orders", "show", "A-3")["status"] == "cancelled"


def test_a_retryable_refusal_is_sent_again_and_a_final_one_is_not(run, market, shop):
    market.flaky_tracking.add("BUSY-1")
    run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "BUSY-1")
    run("orders", "ship", "A-3", "--carrier", "DHL", "--tracking", "GONE-1")
    market.orders["A-3"]["status"] = "CANCELLED"  # the marketplace knows before the host does
    first = run.json("shipments", "push")
    assert (first["sent"], first["rejected"]) == (2, 2)
    assert "A-3 package 1: the order is cancelled" in first["messages"]
    second = run.json("shipments", "push")
    assert (second["sent"], second["accepted"]) == (1, 1)  # only the retryable one
    statuses = {r["tracking_number"]: (r["status"], r["attempts"]) for r in run.json("shipments", "list")}
    assert statuses == {"BUSY-1": ("accepted", 2), "GONE-1": ("rejected", 1)}


def test_a_push_that_dies_after_the_marketplace_took_a_shipment_confirms_each_once_on_the_rerun(
    run, host, market, shop
):
    for order, tracking in (("A-1", "T1"), ("A-2", "T2"), ("A-3", "T3")):
        run("orders", "ship", order, "--carrier", "DHL", "--tracking", tracking)
    market.die_after_confirmations = 2
    with pytest.raises(RuntimeError):
        shipments.push_shipments(host, "Shop EU")
    # The first was recorded accepted; the second reached the marketplace but the host never heard; the third was
    # never sent. Both are 'sending' and go again.
    assert {r["tracking_number"]: r["status"] for r in run.json("shipments", "list")} == {
        "T1": "accepted",
        "T2": "sending",
        "T3": "sending",
    }
    market.die_after_confirmations = None
    again = run.json("shipments", "push")
    assert (again["sent"], again["accepted"]) == (2, 2)
    [(_, _, args)] = [s for s in market.seen if s[0] == "push_shipments"][-1:]
    assert all(s.resent for s in args["shipments"])
    assert confirmed(market) == {("A-1", "1"): "T1", ("A-2", "1"): "T2", ("A-3", "1"): "T3"}
    assert {r["status"] for r in run.json("shipments", "list")} == {"accepted"}


def test_a_file_of_shipments_is_applied_whole_or_not_at_all(run, host, market, shop, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("order,carrier,tracking,item,quantity\nA-1,DHL,T1,,\nA-2,DHL,T2,SKU-0,4\nNOPE,DHL,T3,,\nA-3,,T4,,\n")
    before = dump_database(host.db_path)
    result = run("shipments", "load", str(bad), code=1)
    assert "3 bad rows, nothing was applied" in result.stderr
    assert "line 3: order A-2: item 0: 4 is more than is left to ship (only 3 is left)" in result.stderr
    assert "line 4: no order 'NOPE'" in result.stderr and "line 5: no carrier" in result.stderr
    assert dump_database(host.db_path) == before

    good = tmp_path / "good.csv"
    good.write_text(
        "order;carrier;tracking;item;quantity\n"
        "A-1;DHL;T1;;\n"
        "A-2;PostNL;T2;SKU-0;2\n"
        "A-2;PostNL;T2;SKU-1;1\n"
        "A-2;DHL;T5;SKU-0;1\n"
    )
    assert run.json("shipments", "load", str(good)) == {"recorded": 3, "unchanged": 0}
    rows = {r["tracking_number"]: r for r in run.json("shipments", "list")}
    assert rows["T2"]["lines"] == [{"line_id": "0", "quantity": 2}, {"line_id": "1", "quantity": 1}]
    assert rows["T2"]["carrier_code"] == "POSTNL" and rows["T5"]["package_reference"] == "2"
    over = tmp_path / "over.csv"
    over.write_text("order,carrier,tracking,item,quantity\nA-2,DHL,T6,SKU-0,1\n")  # 2 + 1 of 3 already
    assert "nothing is left" in run("shipments", "load", str(over), code=1).stderr


def test_shipments_list_filters_by_app_and_status(run, market, shop):
    run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "T1")
    run("shipments", "push")
    run("orders", "ship", "A-3", "--carrier", "DHL", "--tracking", "T3")
    assert [r["order"] for r in run.json("shipments", "list", "--status", "due")] == ["A-3"]
    assert [r["order"] for r in run.json("shipments", "list", "--app", "shop eu", "--status", "accepted")] == ["A-1"]
    assert "A-3\t1\tShop EU\tDHL\tT3\t1 x 0\tdue\t-\n" in run("shipments", "list").stdout
    assert "no app named 'Other'" in run("shipments", "list", "--app", "Other", code=1).stderr


def test_sync_confirms_due_shipments_after_importing(run, market, shop):
    run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "T1")
    [result] = run.json("sync")
    assert result["shipments"]["accepted"] == 1
    assert confirmed(market) == {("A-1", "1"): "T1"}


def test_a_bad_ship_date_or_line_is_a_clear_error(run, shop):
    future = run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "T", "--date", "2099-01-01", code=1)
    assert "in the future" in future.stderr
    garbled = run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "T", "--date", "soon", code=1)
    assert "is not a date" in garbled.stderr
    line = run("orders", "ship", "A-2", "--carrier", "DHL", "--tracking", "T", "--line", "SKU-0=two", code=1)
    assert "'two' is not a whole number" in line.stderr
    empty = run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "  ", code=1)
    assert "the tracking number cannot be empty" in empty.stderr


def test_a_malformed_outcome_is_an_error_naming_the_plugin_and_the_hook(host, market, shop, run):
    run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "T1")
    market.garbled_outcome = {"marketplace_order_id": "A-1", "status": "maybe"}
    with pytest.raises(
        PluginError, match="testmarket plugin's push_shipments answered something that is not a ShipmentOutcome"
    ):
        shipments.push_shipments(host, "Shop EU")
    assert run.json("shipments", "list")[0]["status"] == "sending"  # sent again next time, never lost
    assert "push_shipments answered something that is not a ShipmentOutcome" in run("shipments", "push", code=1).stderr


def test_outcome_model_keys_by_order_and_package():
    outcome = ShipmentOutcome(
        marketplace_order_id="A-1", package_reference="1", status="rejected", message="no", retryable=True
    )
    assert outcome.retryable and outcome.status == "rejected"


def test_a_plugin_without_push_shipments_cannot_take_shipments(home, market):
    class NoShipments:  # the test market without push_shipments
        configure_fields = staticmethod(testmarket.configure_fields)
        authorize = staticmethod(testmarket.authorize)
        import_orders = staticmethod(testmarket.import_orders)
        push_stock = staticmethod(testmarket.push_stock)
        health_check = staticmethod(testmarket.health_check)

    market.add_order("A-1")
    with Host(home, extra_plugins=[NoShipments()]) as host:
        apps.install(host, "testmarket", {"name": "Shop EU", "region": "EU"})
        apps.authorize_direct(host, "Shop EU", {"token": "tok-S1", "account": "S1"})
        orders.import_orders(host, "Shop EU")
        with pytest.raises(UserError, match="Test Market apps cannot confirm shipments"):
            shipments.ship_order(host, "A-1", carrier="DHL", tracking="T1")
        assert shipments.push_shipments(host, "Shop EU")["sent"] == 0


def test_removing_the_app_never_sends_its_unsent_shipments_and_purge_deletes_them(run, host, market, shop):
    def of_removed_apps():
        return dict(
            host.db.execute(
                "SELECT s.marketplace_order_id, s.status || ': ' || s.message FROM shipments s "
                "JOIN apps a ON a.id = s.app_id WHERE a.status = 'removed'"
            ).fetchall()
        )

    run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "T1")
    run("shipments", "push")
    run("orders", "ship", "A-3", "--carrier", "DHL", "--tracking", "T3")
    run("apps", "remove", "Shop EU", "--yes")
    assert of_removed_apps() == {
        "A-1": "accepted: ",
        "A-3": "refused: not sent: the app was removed before the marketplace confirmed it",
    }
    assert shipments.apps_with_due(host) == set()

    install_app(run)
    authorize_app(run)
    run("orders", "import")
    run("orders", "ship", "A-2", "--carrier", "DHL", "--tracking", "T2", "--line", "0=1")
    run("apps", "remove", "Shop EU", "--purge", "--yes")
    assert "A-2" not in of_removed_apps()
