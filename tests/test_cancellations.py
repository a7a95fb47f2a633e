"""A buyer asks to cancel an order: the seller sees it in `orders list` and `orders show`, is asked before shipping it
anyway, and accepts the request with `orders cancel`, which cancels it at the marketplace and here at once, releasing
its units. What cannot be cancelled is refused in words a seller can act on; a crash loses nothing."""

from __future__ import annotations

import json

import pytest
import testmarket
from helpers import authorize_app, install_app

from linkolis_host import Cancellation, CancellationOutcome, orders, reservations
from linkolis_host.cli import base
from linkolis_host.host import Host
from linkolis_host.testing import Run


@pytest.fixture
def shop(run, market):
    """An authorized "Shop EU" whose buyer of A-1 asked to cancel it ("ordered by mistake"); A-2 is a plain order."""
    market.add_order("A-1")
    market.add_order("A-2", updated=2, lines=2)
    market.buyer_asks_to_cancel("A-1", "ordered by mistake")
    install_app(run)
    authorize_app(run)
    run("orders", "import")
    return "Shop EU"


@pytest.fixture
def settled(monkeypatch, host):
    """The orders whose units were settled, each with whether it happened inside the cancelling transaction."""
    calls = []

    def settle_orders(h, app_id, order_ids, actor="import", **_known):
        if actor == "cancellation":  # an import settles what it stored too
            calls.append((app_id, list(order_ids), h.db.conn.in_transaction))

    monkeypatch.setattr(reservations, "settle_orders", settle_orders)
    return calls


def audit_events(host) -> list[str]:
    return [
        r["event"] for r in host.db.query("SELECT event FROM audit_log WHERE event LIKE 'order%cancel%' ORDER BY id")
    ]


def test_the_buyers_request_shows_in_the_list_and_on_the_order(run, shop):
    listed = {o["marketplace_order_id"]: o["cancellation_requested"] for o in run.json("orders", "list")}
    assert listed == {"A-1": True, "A-2": False}
    rows = {line.split("\t")[0]: line.split("\t") for line in run("orders", "list").stdout.splitlines()}
    assert rows["A-1"][-1] == "cancel" and rows["A-2"][-1] == "-"

    order = run.json("orders", "show", "A-1")
    assert (order["cancellation_requested"], order["cancellation_reason"]) == (True, "ordered by mistake")
    assert order["lines"][0]["cancellation_requested"] is True
    shown = run("orders", "show", "A-1")
    assert "The buyer asked to cancel this order: ordered by mistake." in shown.stdout
    assert "linkolis orders cancel A-1" in shown.stderr
    assert "asked to cancel" not in run("orders", "show", "A-2").stdout


def test_accepting_the_request_cancels_the_order_at_the_marketplace_and_here_and_releases_its_units(
    run, shop, market, host, settled
):
    result = run.json("orders", "cancel", "A-1", "--yes")
    assert (result["status"], result["reason"], result["lines"]) == (
        "accepted",
        "requested_by_buyer",
        [{"line_id": "0", "quantity": 1}],
    )
    [sent] = market.cancellations
    assert (sent.marketplace_order_id, sent.lines, sent.reason) == ("A-1", [("0", 1)], "requested_by_buyer")
    assert market.orders["A-1"]["status"] == "CANCELLED"

    order = run.json("orders", "show", "A-1")
    assert order["status"] == "cancelled" and order["history"][-1]["status"] == "cancelled"
    assert order["cancellation_requested"] is False, "answered: no longer a request waiting for the seller"
    [(app_id, [order_id], in_transaction)] = settled
    assert order_id == order["id"] and in_transaction, "the units are released in the same transaction"
    assert audit_events(host) == ["order_cancel_sent", "order_cancelled"]

    again = run("orders", "cancel", "A-1", "--yes", code=1)
    assert "order A-1 is cancelled already" in again.stderr
    assert len(market.cancellations) == 1, "nothing was asked of the marketplace twice"
    imported = run.json("orders", "import")
    assert imported["updated"] == 1 and run.json("orders", "show", "A-1")["status"] == "cancelled"


def test_the_seller_cancels_on_their_own_initiative_with_a_reason(run, shop, market):
    refused = run("orders", "cancel", "A-2", "--yes", code=1)
    assert "the buyer of order A-2 did not ask to cancel it" in refused.stderr
    refused = run("orders", "cancel", "A-2", "--yes", "--reason", "requested_by_buyer", code=1)
    assert "give the real reason" in refused.stderr
    assert market.cancellations == []

    result = run.json("orders", "cancel", "A-2", "--yes", "--reason", "out_of_stock")
    assert result["status"] == "accepted"
    [sent] = market.cancellations
    assert (sent.reason, sent.lines) == ("out_of_stock", [("0", 1), ("1", 1)])


def test_accepting_a_request_about_some_lines_cancels_those_and_keeps_the_order_open(run, shop, market, host, settled):
    market.buyer_asks_to_cancel("A-2", "one is enough", lines=["1"])
    run("orders", "import")
    shown = run.json("orders", "show", "A-2")
    assert [line["cancellation_requested"] for line in shown["lines"]] == [False, True]
    result = run.json("orders", "cancel", "A-2", "--yes")
    assert (result["status"], result["whole_order"], result["lines"]) == (
        "accepted",
        False,
        [{"line_id": "1", "quantity": 1}],
    )
    [sent] = market.cancellations
    assert (sent.lines, sent.reason) == ([("1", 1)], "requested_by_buyer")
    assert market.orders["A-2"]["status"] == "UNSHIPPED"
    after = run.json("orders", "show", "A-2")
    assert after["status"] == "unshipped", "the other line goes on"
    assert [line["quantity_cancelled"] for line in after["lines"]] == [0, 1]
    assert settled == [(1, [after["id"]], True)], "the cancelled line's units released in the same transaction"
    assert audit_events(host)[-1] == "order_lines_cancelled"
    market.buyer_asks_to_cancel("A-1", "again", lines=["0"])
    text = run("orders", "cancel", "A-1", "--yes").stdout
    assert "Cancelled order A-1 at Shop EU (1 item, requested_by_buyer); its units are released." in text


def test_cancelling_asks_for_confirmation_on_a_terminal_and_needs_yes_off_one(run, shop, market, monkeypatch):
    off = run("orders", "cancel", "A-1", code=2)
    assert "needs --yes when not run from a terminal" in off.stderr
    monkeypatch.setattr(base, "stdin_is_terminal", lambda: True)
    declined = run("orders", "cancel", "A-1", input="n\n", code=1)
    assert "Cancel order A-1 (Shop EU) as its buyer asked? This cannot be undone." in declined.stderr
    assert market.cancellations == [] and market.orders["A-1"]["status"] == "UNSHIPPED"
    run("orders", "cancel", "A-1", input="y\n")
    assert market.orders["A-1"]["status"] == "CANCELLED"


def test_shipping_an_order_whose_buyer_asked_to_cancel_needs_a_confirmation(run, shop, host, monkeypatch):
    refused = run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "JJD1", code=2)
    assert "the buyer of order A-1 asked to cancel it; shipping it anyway needs --yes" in refused.stderr
    assert host.db["shipments"].count == 0

    monkeypatch.setattr(base, "stdin_is_terminal", lambda: True)
    declined = run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "JJD1", input="n\n", code=1)
    assert "The buyer of order A-1 asked to cancel it (ordered by mistake). Ship it anyway?" in declined.stderr
    assert host.db["shipments"].count == 0
    run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "JJD1", input="y\n")
    assert host.db["shipments"].count == 1

    monkeypatch.setattr(base, "stdin_is_terminal", lambda: False)
    run("orders", "ship", "A-2", "--carrier", "DHL", "--tracking", "JJD2")  # no request: nothing to confirm
    assert host.db["shipments"].count == 2


def test_what_cannot_be_cancelled_is_refused_before_the_marketplace_is_asked(run, market, host):
    market.add_order("S-1", status="SHIPPED")
    market.add_order("C-1", status="CANCELLED", updated=2)
    install_app(run)
    authorize_app(run)
    run("orders", "import")
    assert (
        "order S-1 is shipped: a shipped order cannot be cancelled"
        in run("orders", "cancel", "S-1", "--yes", "--reason", "other", code=1).stderr
    )
    assert "order C-1 is cancelled already" in run("orders", "cancel", "C-1", "--yes", code=1).stderr
    assert "no order 'X-9'" in run("orders", "cancel", "X-9", "--yes", code=1).stderr
    assert run("orders", "cancel", "S-1", "--yes", "--reason", "lost", code=2).exit_code == 2
    assert [name for name, *_ in market.seen if name == "cancel_order"] == []


def test_an_app_that_cannot_cancel_tells_the_seller_to_cancel_on_the_marketplaces_site(home, market, clock):
    without = type(
        "NoCancel",
        (),
        {
            hook: staticmethod(getattr(testmarket, hook))
            for hook in ("configure_fields", "authorize", "import_orders", "push_stock", "health_check")
        },
    )
    market.add_order("A-1")
    market.buyer_asks_to_cancel("A-1", None)
    with Host(home, clock=clock, extra_plugins=[without]) as host:
        run = Run(host)
        install_app(run)
        authorize_app(run)
        run("orders", "import")
        order = orders.get_order(host, "A-1")
        assert order["cancellation_requested"] and order["cancellation_reason"] is None
        assert not orders.cancels_here(host, order)
        assert "Cancel it on the marketplace's own site" in run("orders", "show", "A-1").stderr
        refused = run("orders", "cancel", "A-1", "--yes", code=1)
        assert "linkolis cannot cancel Test Market orders: cancel order A-1 on Test Market's own site" in (
            refused.stderr
        )
        assert "the next import shows it cancelled and releases its units" in refused.stderr
        market.cancel("A-1")  # the seller did so
        run("orders", "import")
        assert orders.get_order(host, "A-1")["status"] == "cancelled"


def test_a_refusal_keeps_the_order_open_and_a_pending_cancellation_is_asked_about_again(
    run, shop, market, host, settled
):
    market.refuse_cancel = "the order is being packed"
    refused = run("orders", "cancel", "A-1", "--yes", code=1)
    assert "Shop EU refused to cancel order A-1: the order is being packed." in refused.stderr
    assert json.loads(run("orders", "cancel", "A-1", "--yes", "--json", code=1).stdout)["status"] == "rejected"
    assert run.json("orders", "show", "A-1")["status"] == "unshipped" and settled == []

    market.refuse_cancel = None
    market.cancel_pending_once.add("A-1")
    pending = run.json("orders", "cancel", "A-1", "--yes")
    assert (pending["status"], pending["message"]) == ("pending", "the market is processing the cancellation")
    assert run.json("orders", "show", "A-1")["status"] == "unshipped"
    assert run.json("orders", "cancel", "A-1", "--yes")["status"] == "accepted"
    assert run.json("orders", "show", "A-1")["status"] == "cancelled"
    assert audit_events(host) == [
        "order_cancel_sent",
        "order_cancel_rejected",
        "order_cancel_sent",
        "order_cancel_rejected",
        "order_cancel_sent",
        "order_cancel_pending",
        "order_cancel_sent",
        "order_cancelled",
    ]


def test_a_crash_after_the_marketplace_cancelled_loses_nothing(run, shop, market, host):
    market.die_after_cancel = True
    with pytest.raises(RuntimeError, match="the process died"):
        run("orders", "cancel", "A-1", "--yes")
    assert market.orders["A-1"]["status"] == "CANCELLED"
    assert run.json("orders", "show", "A-1")["status"] == "unshipped", "the host never heard"
    assert audit_events(host) == ["order_cancel_sent", "order_cancel_failed"]

    market.die_after_cancel = False
    # Asked again, the marketplace answers "accepted" for an order it cancelled already.
    assert run.json("orders", "cancel", "A-1", "--yes")["status"] == "accepted"
    assert run.json("orders", "show", "A-1")["status"] == "cancelled"
    assert len(market.cancellations) == 1


def test_the_next_import_shows_an_order_cancelled_when_the_process_died_before_asking_again(run, shop, market):
    market.die_after_cancel = True
    with pytest.raises(RuntimeError):
        run("orders", "cancel", "A-1", "--yes")
    run("orders", "import")
    assert run.json("orders", "show", "A-1")["status"] == "cancelled"


def plugin_answering(answer):
    """The test market, but its cancel_order answers ``answer`` whatever it is asked."""
    hooks = {
        hook: staticmethod(getattr(testmarket, hook))
        for hook in ("configure_fields", "authorize", "import_orders", "push_stock", "health_check")
    }
    hooks["cancel_order"] = staticmethod(testmarket.hookimpl(lambda ctx, cancellation: answer))
    return type("Answering", (), hooks)


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ({"marketplace_order_id": "A-1", "status": "maybe"}, "answered something that is not a CancellationOutcome"),
        (None, "cancel_order answered nothing"),
        (
            CancellationOutcome(marketplace_order_id="A-2", status="accepted"),
            "answered about order 'A-2', asked to cancel 'A-1'",
        ),
    ],
)
def test_an_answer_that_does_not_fit_names_the_plugin_and_cancels_nothing(home, market, clock, answer, complaint):
    market.add_order("A-1")
    market.buyer_asks_to_cancel("A-1")
    with Host(home, clock=clock, extra_plugins=[plugin_answering(answer)]) as host:
        run = Run(host)
        install_app(run)
        authorize_app(run)
        run("orders", "import")
        refused = run("orders", "cancel", "A-1", "--yes", code=1)
        assert "the Answering plugin's cancel_order" in refused.stderr and complaint in refused.stderr
        assert orders.get_order(host, "A-1")["status"] == "unshipped"


def test_a_reason_outside_the_hosts_words_never_reaches_a_plugin():
    with pytest.raises(ValueError):
        Cancellation(marketplace_order_id="A-1", lines=[("0", 1)], reason="BAD_CONDITION")
    with pytest.raises(ValueError):
        Cancellation(marketplace_order_id="A-1", lines=[("0", 0)], reason="other")
