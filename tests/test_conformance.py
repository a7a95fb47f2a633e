"""The conformance kit a plugin author runs: it passes the test plugin and catches each way a plugin can break."""

from __future__ import annotations

import json
import types
from datetime import UTC, datetime
from typing import Literal

import httpx
import pytest
import testmarket
from helpers import token_of
from pydantic import Field

from linkolis_host import (
    AppKind,
    AppSettings,
    CancellationOutcome,
    CheckAgain,
    HealthCheck,
    NotificationEvent,
    Order,
    OrderBatch,
    StockOutcome,
    apps,
    hookimpl,
)
from linkolis_host.testing import assert_conformance, check_plugin

HOOKS = ("configure_fields", "authorize", "import_orders", "push_stock", "read_stock", "health_check")


def authorize(host, name):
    apps.authorize_direct(host, name, {"token": token_of("SELLER1"), "account": "SELLER1"})


def check(plugin, **kwargs):
    return check_plugin(
        plugin, **({"install": {"region": "EU"}, "authorize": authorize, "stock": [("SKU-A", 5)]} | kwargs)
    )


def variant(base=HOOKS, **hooks):
    """The test plugin with its ``base`` hooks, some replaced (None: left out)."""
    plugin = types.ModuleType("variant")
    for hook in base:
        setattr(plugin, hook, getattr(testmarket, hook))
    for hook, fn in hooks.items():
        if fn is None:
            delattr(plugin, hook)
        else:
            setattr(plugin, hook, hookimpl(fn))
    return plugin


def with_settings(settings):
    return variant(configure_fields=lambda: AppKind(kind="testmarket", title="T", description="D", settings=settings))


@pytest.fixture(autouse=True)
def orders(market):
    for n in range(1, 6):
        market.add_order(f"O-{n}", updated=n)


def test_the_test_plugin_conforms(market, conformance):
    assert check(testmarket) == []
    assert market.pushes == [("SKU-A", 5)], "the kit pushed the stock it was given"
    conformance(testmarket, install={"region": "EU"}, authorize=authorize)  # the kit as the pytest plugin offers it


class ContractChecking(httpx.MockTransport):
    """A simulator's transport that has found a request against the marketplace's model."""

    def __init__(self) -> None:
        super().__init__(lambda request: httpx.Response(200))
        self.problems = ["GET /orders: createdAfter is required"]


@pytest.mark.parametrize("transport", [ContractChecking()], ids=["a request against the model"])
def test_the_conformance_fixture_fails_on_what_the_tests_transport_found(conformance):
    with pytest.raises(pytest.fail.Exception, match="ContractChecking.*\n- GET /orders: createdAfter is required"):
        conformance(testmarket, install={"region": "EU"}, authorize=authorize)


def test_the_static_checks_run_without_an_authorize_callable():
    assert check_plugin(testmarket, install={"region": "EU"}) == []


def test_the_kit_loads_the_plugin_alone_whatever_the_environment(monkeypatch):
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "amazon")
    assert check(testmarket) == []
    import os

    assert os.environ["LINKOLIS_LOAD_PLUGINS"] == "amazon", "the environment is given back as it was"


def test_a_misspelled_hook_is_caught():
    plugin = variant(health_checks=lambda ctx: [])
    [problem] = check(plugin)
    assert problem.startswith("loading: ") and "health_checks" in problem


def test_a_missing_hook_is_caught():
    assert check(variant(push_stock=None)) == ["hooks: push_stock not implemented"]


def test_a_field_without_label_or_help_is_caught():
    class Settings(testmarket.TestMarketSettings):
        region: Literal["EU", "US"] = Field()

    problems = check(with_settings(Settings))
    assert "settings.region: no title (the label the seller sees)" in problems
    assert "settings.region: no description (the help the seller sees)" in problems


def test_a_default_that_does_not_validate_is_caught():
    class Settings(testmarket.TestMarketSettings):
        region: Literal["EU", "US"] = Field("FR", title="Region", description="Where")

    [problem] = check(with_settings(Settings), install={})
    assert "the defaults and the install values do not validate" in problem and "region:" in problem


def test_the_base_name_default_is_caught():
    class Settings(testmarket.TestMarketSettings):
        name: str = Field("App", title="Application name", description="How it is called")

    assert check(with_settings(Settings)) == ["settings.name: the default is still 'App'; give the app's usual name"]


def test_a_health_report_of_the_wrong_shape_is_caught():
    problems = check(variant(health_check=lambda ctx: {"credentials": "ok"}))
    assert problems == ["health_check: must return a list of HealthCheck, returned dict"]
    problems = check(variant(health_check=lambda ctx: [{"name": "credentials", "status": "ok"}]))
    assert problems == ["health_check: item 0 is dict, not a HealthCheck"]


def test_a_failing_health_check_without_a_remedy_is_caught():
    problems = check(variant(health_check=lambda ctx: [HealthCheck(name="token works", status="failed")]))
    assert "health_check: fails right after authorizing: token works: failed" in problems
    assert "health_check: 'token works' failed without a remedy or an action for the seller" in problems


def test_a_health_check_whose_remedy_names_a_command_is_caught():
    remedy = "run `linkolis apps authorize NAME --credential token=-`"
    problems = check(variant(health_check=lambda ctx: [HealthCheck(name="token", status="warning", remedy=remedy)]))
    assert problems == [
        f"health_check: 'token' names a command in its remedy ({remedy!r}); give the check an action "
        "(Action.AUTHORIZE, CONFIGURE with param, ...) and the CLI and web word it"
    ]


def test_an_import_that_finds_the_same_orders_changed_every_time_is_caught():
    calls = []

    def import_orders(ctx, cursor):  # ignores the cursor and stamps each answer anew
        calls.append(cursor)
        stamp = datetime.fromtimestamp(1_700_000_000 + len(calls), tz=UTC)
        yield OrderBatch(
            orders=[
                Order(
                    marketplace_order_id="O-1",
                    marketplace="EU",
                    status="unshipped",
                    marketplace_status="UNSHIPPED",
                    fulfilled_by="merchant",
                    created_at=stamp,
                    updated_at=stamp,
                )
            ],
            cursor={},
        )

    [problem] = check(variant(import_orders=import_orders))
    assert "a second import right after the first found 0 new and 1 updated order" in problem


def test_a_cursor_that_is_not_plain_json_is_caught():
    def import_orders(ctx, cursor):
        yield OrderBatch(orders=[], cursor={"since": datetime(2026, 1, 1, tzinfo=UTC)})

    [problem] = check(variant(import_orders=import_orders))
    assert problem.startswith("import_orders: the cursor of batch 1 is not plain JSON")


def test_a_push_that_forgets_a_sku_is_caught():
    def push_stock(ctx, items):
        return [StockOutcome(sku=i.sku, quantity=i.quantity, status="accepted") for i in items[1:]]

    assert check(variant(push_stock=push_stock), stock=[("SKU-A", 5), ("SKU-B", 2)]) == [
        "push_stock: no outcome for SKU-A; return one per SKU pushed"
    ]


def test_a_push_that_writes_its_state_through_a_context_kept_from_another_call_is_caught(market):
    kept = {}

    def health_check(ctx):
        kept["client"] = ctx  # a client cached across calls keeps the context it was made with
        return testmarket.health_check(ctx)

    def push_stock(ctx, items):
        """Tells each outcome, then forgets the job in the state: through the cached client's store, whose writes
        the host does not see, so a crash right after the write would lose what was told."""
        for item in items:
            yield StockOutcome(sku=item.sku, quantity=item.quantity, status="accepted")
            kept["client"].state.delete(f"job:{item.sku}")

    assert check(variant(health_check=health_check, push_stock=push_stock)) == [
        "push_stock: wrote the app's state while the outcomes of SKU-A, yielded before, were not recorded; write "
        "through this call's ctx.state (it records what was told before each write), never through a store kept "
        "from another call"
    ]

    def push_stock_through_its_own_context(ctx, items):
        for item in items:
            yield StockOutcome(sku=item.sku, quantity=item.quantity, status="accepted")
            ctx.state.delete(f"job:{item.sku}")

    assert check(variant(push_stock=push_stock_through_its_own_context)) == []


def test_a_check_again_given_as_a_duration_or_before_an_outcome_is_caught(market):
    market.pending_once.add("SKU-A")
    market.check_again_in = 30.0
    assert check(testmarket) == [], "a pending push, then CheckAgain(at=now + 30): well-formed"

    def push_stock(ctx, items):
        yield CheckAgain(at=30.0)  # seconds from now, where a moment of ctx.clock was due
        yield from testmarket.push_stock(ctx, items)

    duration, early = check(variant(push_stock=push_stock))

    assert duration.startswith("push_stock: CheckAgain(at=30.0) is not a moment within a day of ctx.clock.time()")
    assert early == "push_stock: yielded the outcome of SKU-A after a CheckAgain; yield CheckAgain last"


def test_a_crashing_hook_is_a_finding_not_a_crash():
    def import_orders(ctx, cursor):
        raise KeyError("orders")

    assert check(variant(import_orders=import_orders)) == [
        "import_orders (first): the plugin raised KeyError: 'orders'"
    ]


def test_assert_conformance_lists_every_problem():
    with pytest.raises(AssertionError) as error:
        assert_conformance(variant(push_stock=None), install={"region": "EU"}, authorize=authorize)
    assert "the plugin does not conform:\n- hooks: push_stock not implemented" in str(error.value)


def test_the_kit_checks_that_a_cancellation_asked_again_after_a_crash_is_accepted(market):
    market.buyer_asks_to_cancel("O-1")
    assert check(testmarket, cancellations=[{"order": "O-1"}, {"order": "O-2", "reason": "out_of_stock"}]) == []
    assert [c.reason for c in market.cancellations] == ["requested_by_buyer", "out_of_stock"]

    def cancel_order(ctx, cancellation):
        """Refuses what it cancelled before, as a naive plugin would."""
        oid = cancellation.marketplace_order_id
        if market.orders[oid]["status"] == "CANCELLED":
            return CancellationOutcome(marketplace_order_id=oid, status="rejected", message="already cancelled")
        market.cancel(oid)
        return CancellationOutcome(marketplace_order_id=oid, status="accepted")

    market.__init__()
    for n in range(1, 4):
        market.add_order(f"O-{n}", updated=n)
    assert check(variant(cancel_order=cancel_order), cancellations=[{"order": "O-3", "reason": "other"}]) == [
        "cancel_order: order O-3 was cancelled, then asked again as after an interruption and answered rejected "
        "'already cancelled'; an order the marketplace cancelled already must be answered accepted"
    ]
    assert check(variant(), cancellations=[{"order": "O-1", "reason": "other"}]) == [
        "cancel_order: not implemented, but cancellations were given to check"
    ]


def test_a_plugin_that_ships_dutch_must_translate_each_of_its_own_words(tmp_path):
    class Panel(AppSettings):
        name: str = Field(
            "Test Market", title="Application name", description="How this app is called in My applications"
        )
        region: Literal["EU", "US"] = Field(
            "EU",
            title="Region",
            description="Where you sell",
            json_schema_extra={"choice_titles": {"EU": "Europe", "US": "United States"}},
        )

    def kind():
        return AppKind(kind="testmarket", title="T", description="D", settings=Panel, locale_dir=tmp_path)

    for lang, pairs in {"en": {}, "nl": {"D": "O", "Region": "Regio", "Where you sell": "Waar je verkoopt"}}.items():
        po = tmp_path / lang / "LC_MESSAGES" / "testmarket.po"
        po.parent.mkdir(parents=True)
        entries = {text: "" for text in ("D", "Region", "Where you sell", "Europe")} | pairs
        po.write_text("".join(f'msgid "{en}"\nmsgstr "{nl}"\n\n' for en, nl in entries.items()), encoding="utf-8")
    assert check_plugin(variant(configure_fields=kind), install={"region": "EU"}) == [
        "words: en has no translation of 'United States' (testmarket.po)",
        "words: nl has no translation of 'Europe' (testmarket.po)",
        "words: nl has no translation of 'United States' (testmarket.po)",
    ]


def test_a_plugins_note_on_new_orders_is_one_of_its_words_to_translate(tmp_path):
    class Panel(AppSettings):
        name: str = Field(
            "Test Market", title="Application name", description="How this app is called in My applications"
        )

    def kind():
        return AppKind(
            kind="testmarket",
            title="T",
            description="D",
            settings=Panel,
            locale_dir=tmp_path,
            order_delay_note="A new order shows a minute after it is placed.",
        )

    for lang, translated in {"en": "", "nl": "O"}.items():
        po = tmp_path / lang / "LC_MESSAGES" / "testmarket.po"
        po.parent.mkdir(parents=True)
        po.write_text(f'msgid "D"\nmsgstr "{translated}"\n', encoding="utf-8")
    assert check_plugin(variant(configure_fields=kind)) == [
        "words: en has no translation of 'A new order shows a minute after it is placed.' (testmarket.po)",
        "words: nl has no translation of 'A new order shows a minute after it is placed.' (testmarket.po)",
    ]


NOTIFYING = ("subscribe_notifications", "unsubscribe_notifications", "read_notification", "fetch_orders")


def notifying(**hooks):
    """The test plugin with its notification hooks, some replaced (None: left out)."""
    return variant(HOOKS + NOTIFYING, **hooks)


def notified_order(host, name):
    """What the kit's ``notification`` callable does: an order at the market, and the message naming it."""
    testmarket.MARKET.add_order("O-NOTIFIED", region="EU")
    return json.dumps({"market": "testmarket", "id": "N-1", "account": "SELLER1", "orders": ["O-NOTIFIED"]})


def test_the_notification_hooks_conform_and_a_notified_order_is_stored_once():
    assert check(notifying(), notification=notified_order) == []


def test_the_notification_hooks_come_as_a_set():
    assert check(notifying(fetch_orders=None), notification=None) == [
        "read_notification: implemented without fetch_orders; the notification hooks work only together",
        "subscribe_notifications: implemented without fetch_orders; the notification hooks work only together",
    ]


def test_a_plugin_that_reads_another_marketplaces_message_as_its_own_is_caught():
    def greedy(body):
        return NotificationEvent(notification_id="x", account_id="SELLER1", order_ids=["O-1"])

    problems = check(notifying(read_notification=greedy))
    assert "read_notification: read another marketplace's message {} as its own" in problems


def test_a_notification_read_twice_with_two_ids_is_caught():
    ids = iter(range(100))

    def unstable(body):
        event = testmarket.read_notification(body)
        return event and event.model_copy(update={"notification_id": f"N-{next(ids)}"})

    problems = check(notifying(read_notification=unstable), notification=notified_order)
    assert problems == ["read_notification: the same message read twice gave two ids; a copy must read the same"]


def test_a_subscription_made_anew_each_time_is_caught():
    made = iter(range(100))
    problems = check(
        notifying(subscribe_notifications=lambda ctx, queue_arn: f"S-{next(made)}"), notification=notified_order
    )
    assert problems == ["subscribe_notifications: subscribing again answered 'S-1' after 'S-0'; use what exists"]
