"""The conformance kit: what a plugin author runs against their plugin before the host ever loads it for real.

```python
from linkolis_host import apps
from linkolis_host.testing import assert_conformance

import linkolis_acme.plugin


def test_the_acme_plugin_keeps_the_hook_contract():
    assert_conformance(
        linkolis_acme.plugin,
        install={"country": "DE"},
        authorize=lambda host, name: apps.authorize_direct(host, name, {"api_key": "good-key"}),
        host_factory=lambda home, plugins: Host(home, extra_plugins=plugins, transport=fake_acme),
    )
```

It checks, in order: the plugin loads beside nothing else and every ``@hookimpl`` fits a spec (``check_pending``);
it implements the hooks an app needs; its settings model is a panel the CLI can show (every field has a title
and a description, every default validates, the install values validate as the panel checks them, in a
workspace with no other app); each language it ships (``AppKind.locale_dir``) has each of its own
words (``check_words``); then, in a throw-away data directory: install, authorize (your callable), the health
report's shape (a failed check has a remedy or an action, no remedy names a command), two imports in a row (each
batch valid, its cursor plain JSON, the second import finds nothing new and nothing changed), given ``stock``, one
outcome per SKU pushed, every outcome recorded before each write to the app's state that follows it, and at most
one ``CheckAgain``, last, a moment of ``ctx.clock``; given ``shipments``, one outcome per shipment (an accepted
one sent again as interrupted is accepted again), and given ``cancellations``, an outcome per order cancelled (an
accepted one asked again, as after a crash before the host's own write, is accepted again, never refused as
"already cancelled"). The notification hooks come as a set (``read_notification`` with ``fetch_orders``;
``subscribe_notifications`` only with them; ``unsubscribe_notifications`` only with ``subscribe_notifications``), and
``read_notification`` answers None, without raising, for another marketplace's message; given ``notification`` (a
callable making an order at the marketplace and returning the body of the message that names it), subscribing twice
answers one subscription id, the message reads the same id twice and names the app's account (or an alias), and
``fetch_orders`` yields its order, stored once when fetched twice.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from babel.messages.pofile import read_po
from pydantic import ValidationError

from .. import apps, installed, order_notifications, orders, stock
from .. import shipments as shipments_
from ..clock import VirtualClock
from ..config import format_validation_error
from ..context import Context, StateStore
from ..errors import LinkolisError, PluginError
from ..host import Host
from ..models import AppKind, AppSettings, CheckAgain, HealthCheck, OrderBatch, SettingsContext, StockOutcome
from ..plugins import build_plugin_manager
from ..terminal import plural

# A command a seller would type (the app commands, the credential flag), which only the CLI may word.
COMMAND_TEXT = re.compile(
    r"\blinkolis (apps|stock|orders|shipments|sync|serve|demo|plugins|users|workspaces|catalog)\b|--credential"
)
REQUIRED_HOOKS = ("configure_fields", "authorize", "import_orders", "push_stock", "health_check")

HostFactory = Callable[[Path, list], Host]
DAY = 86400.0


def default_host(home: Path, plugins: list) -> Host:
    """A host on a virtual clock (quotas are honoured without waiting for them), in a data directory of its own
    with its own SQLite file whatever store the caller's tests use: the kit checks the plugin, not the store, and a
    PostgreSQL database named by LINKOLIS_DATABASE_URL is the caller's, not the kit's to fill."""
    return Host(home, clock=VirtualClock(), extra_plugins=plugins, env={"LINKOLIS_DATABASE_URL": ""})


@contextmanager
def _plugin_alone() -> Iterator[None]:
    """Load no installed plugin beside the one under test, whatever the environment says."""
    saved = os.environ.get("LINKOLIS_LOAD_PLUGINS")
    os.environ["LINKOLIS_LOAD_PLUGINS"] = ""
    try:
        yield
    finally:
        if saved is None:
            del os.environ["LINKOLIS_LOAD_PLUGINS"]
        else:
            os.environ["LINKOLIS_LOAD_PLUGINS"] = saved


def check_settings(settings: type[AppSettings], install: dict[str, Any]) -> list[str]:
    """The panel: each field labelled and explained, each default valid, the install values accepted."""
    problems = []
    if not (isinstance(settings, type) and issubclass(settings, AppSettings)):
        return [f"settings: {settings!r} is not a subclass of AppSettings"]
    values: dict[str, Any] = {}
    for name, info in settings.model_fields.items():
        if not (info.title or "").strip():
            problems.append(f"settings.{name}: no title (the label the seller sees)")
        if not (info.description or "").strip():
            problems.append(f"settings.{name}: no description (the help the seller sees)")
        if not info.is_required():
            values[name] = info.get_default(call_default_factory=True)
    if settings.model_fields["name"].get_default() == AppSettings.model_fields["name"].get_default():
        problems.append("settings.name: the default is still 'App'; give the app's usual name")
    try:
        settings.model_validate(values | install)  # given explicitly, so the defaults are validated too
    except ValidationError as exc:
        problems.append(
            "settings: the defaults and the install values do not validate:\n" + format_validation_error(exc, "  ")
        )
        return problems
    instance = settings.model_validate(install)
    for method in ("authorization_scope", "account_scope", "account_scope_title"):
        if not isinstance(getattr(instance, method)(), str):
            problems.append(f"settings.{method}() must return a str")
    try:  # as the panel checks them, in a workspace with no other app yet (AppSettings.other_apps)
        settings.model_validate(install, context=SettingsContext())
    except ValidationError as exc:
        problems.append(
            "settings: the install values do not validate in a workspace with no other app:\n"
            + format_validation_error(exc, "  ")
        )
    return problems


def own_words(kind: AppKind) -> list[str]:
    """The English texts a seller sees that are the plugin's own: its catalog description, the titles, help lines
    and choice titles of its panel's fields (those it inherits from ``AppSettings`` unchanged are the host's), its
    credential fields' labels and help, and its ``order_delay_note``. (A ``Refusal``'s message is its own too, but
    only the validator that raises it knows it: the plugin's tests check that one.)"""
    texts = [kind.description, kind.order_delay_note]
    base = AppSettings.model_fields
    for spec in apps.fields_of(kind.settings):
        inherited = base.get(spec.name)
        if inherited is None or spec.title != inherited.title:
            texts.append(spec.title)
        if inherited is None or spec.help != (inherited.description or ""):
            texts.append(spec.help)
        texts.extend(spec.choice_titles.values())
    for credential in kind.direct_credentials:
        texts += [credential.label, credential.help]
    return list(dict.fromkeys(t for t in texts if t))


def check_words(kind: AppKind) -> list[str]:
    """Each language the plugin ships (``AppKind.locale_dir``) has each of its own texts: English needs the msgid
    (its msgstr may stay empty), any other language a translation."""
    if kind.locale_dir is None:
        return []
    folder = Path(kind.locale_dir)
    catalogs = sorted(folder.glob(f"*/LC_MESSAGES/{kind.kind}.po"))
    if not catalogs:
        return [f"locale_dir: no {kind.kind}.po under {folder} (expected <lang>/LC_MESSAGES/{kind.kind}.po)"]
    problems = []
    for po in catalogs:
        lang = po.parent.parent.name
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=lang)
        english = lang.split("_")[0] == "en"
        missing = [
            text
            for text in own_words(kind)
            if text not in catalog or not (english or catalog[text].string) or catalog[text].fuzzy
        ]
        problems.extend(f"words: {lang} has no translation of {text!r} ({po.name})" for text in missing)
    return problems


class _Watch:
    """Stands between the registry and the plugin (its raw ``_answer``) to check what the plugin answers beyond
    what the registry validates, passing it through."""

    def __init__(self, host: Host, problems: list[str]) -> None:
        self._host = host
        self._call = host.registry._answer
        self.problems = problems

    def __call__(self, kind: str, hook: str, **kwargs: Any) -> Any:
        answer = self._call(kind, hook, **kwargs)
        if hook == "import_orders" and answer is not None:
            return self._batches(answer)
        if hook == "push_stock" and answer is not None:
            try:
                return self._pushed(kwargs["ctx"], iter(answer))
            except TypeError:
                return answer  # the host refuses it
        if hook == "health_check":
            if not isinstance(answer, list):
                self.problems.append(
                    f"health_check: must return a list of HealthCheck, returned {type(answer).__name__}"
                )
            else:
                self.problems.extend(
                    f"health_check: item {number} is {type(check).__name__}, not a HealthCheck"
                    for number, check in enumerate(answer)
                    if not isinstance(check, HealthCheck)
                )
        return answer

    def _batches(self, answer: Any) -> Iterator[Any]:
        for number, batch in enumerate(answer, start=1):
            try:
                checked = batch if isinstance(batch, OrderBatch) else OrderBatch.model_validate(batch)
            except ValidationError:
                yield batch  # the host refuses it with the plugin's errors
                return
            try:
                if json.loads(json.dumps(checked.cursor)) != checked.cursor:
                    raise TypeError("it changes on the way through JSON")
            except (TypeError, ValueError) as exc:
                self.problems.append(
                    f"import_orders: the cursor of batch {number} is not plain JSON ({exc}); "
                    "the host stores it as JSON and hands it back as such"
                )
            yield batch

    def _pushed(self, ctx: Context, answers: Iterator[Any]) -> Iterator[Any]:
        """The push's answers, passed on one by one. Whenever the plugin writes the app's state (through any store),
        every outcome it yielded before must be recorded already: the write may forget what was told (a finished
        feed), and a crash right after it must lose none of it. A ``CheckAgain`` comes at most once, last, as a
        moment of ``ctx.clock``."""
        told: dict[str, StockOutcome] = {}  # by SKU, the last outcome yielded
        moment: CheckAgain | None = None

        def before_write(store: StateStore) -> None:
            if store._app_id != ctx.app.id:
                return
            unrecorded = sorted(sku for sku, outcome in told.items() if not self._recorded(ctx.app.id, outcome))
            if unrecorded:
                self.problems.append(
                    f"push_stock: wrote the app's state while the outcomes of {', '.join(unrecorded)}, yielded "
                    "before, were not recorded; write through this call's ctx.state (it records what was told "
                    "before each write), never through a store kept from another call"
                )

        while True:
            with _watching_state_writes(before_write):
                try:
                    answer = next(answers)
                except StopIteration:
                    return
            if isinstance(answer, CheckAgain):
                now = ctx.clock.time()
                if moment is not None:
                    self.problems.append("push_stock: yielded more than one CheckAgain; yield one, last")
                if abs(answer.at - now) > DAY:
                    self.problems.append(
                        f"push_stock: CheckAgain(at={answer.at}) is not a moment within a day of ctx.clock.time() "
                        f"({now}); give a wall time of ctx.clock (now + seconds), not a duration"
                    )
                moment = answer
            else:
                try:
                    outcome = answer if isinstance(answer, StockOutcome) else StockOutcome.model_validate(answer)
                except ValidationError:
                    yield answer  # the host refuses it with the plugin's errors
                    return
                if moment is not None:
                    self.problems.append(
                        f"push_stock: yielded the outcome of {outcome.sku} after a CheckAgain; yield CheckAgain last"
                    )
                told[outcome.sku] = outcome
            yield answer

    def _recorded(self, app_id: int, outcome: StockOutcome) -> bool:
        """Whether the host's records say what ``outcome`` says, or drop it (about a SKU never sent to the app, or
        about an older quantity than the one last sent)."""
        row = self._host.db.execute(
            "SELECT outcome, attempt_quantity, message, reference FROM stock_pushes WHERE app_id = ? AND sku = ?",
            (app_id, outcome.sku),
        ).fetchone()
        if row is None:
            return True
        status, quantity, message, reference = row
        if outcome.quantity is not None and outcome.quantity != quantity:
            return True
        return (status, message, reference) == (outcome.status, outcome.message, outcome.reference)


@contextmanager
def _watching_state_writes(before_write: Callable[[StateStore], None]) -> Iterator[None]:
    """While the plugin's code runs: ``before_write(store)`` just before each write of every ``StateStore`` (after
    the host's own ``before_write``), whichever context the store came from."""
    original = StateStore._before_write

    def watched(store: StateStore) -> None:
        original(store)
        before_write(store)

    StateStore._before_write = watched  # type: ignore[method-assign]
    try:
        yield
    finally:
        StateStore._before_write = original  # type: ignore[method-assign]


def check_plugin(
    plugin: Any,
    *,
    install: dict[str, Any] | None = None,
    authorize: Callable[[Host, str], Any] | None = None,
    host_factory: HostFactory = default_host,
    stock: Iterable[tuple[str, int]] = (),
    shipments: Iterable[dict[str, Any]] = (),
    cancellations: Iterable[dict[str, Any]] = (),
    notification: Callable[[Host, str], str] | None = None,
) -> list[str]:
    """Check ``plugin`` (a module or object with ``@hookimpl`` functions) against the hook contract.

    :param install: the settings to install the app with (beyond the defaults).
    :param authorize: called with the host and the app's name; authorizes the app as a seller would (direct
        credentials, or a stand-in consent page). Without it only the static checks run.
    :param host_factory: builds the host from a data directory and the plugins to load (to give it an HTTP
        transport that stands in for the marketplace, a clock, an environment).
    :param stock: ``(sku, quantity)`` pairs to push after the imports; each must come back with an outcome.
    :param shipments: shipments to confirm after the imports, each as ``shipments.ship_order`` takes them
        (``order``, ``carrier``, ``tracking``, optionally ``lines``, ``method``, ``ship_date``); each must come
        back with an outcome, and an accepted one sent again as interrupted (``resent``) must be accepted again.
    :param cancellations: orders to cancel after the imports, each as ``orders.cancel_order`` takes them (``order``,
        optionally ``reason``); each must be answered, and an accepted one asked again as if the host had died
        before its own write must be accepted again.
    :param notification: called with the host and the app's name after the app is subscribed (when the plugin
        subscribes); makes an order at the marketplace and returns the body of the notification message naming it.
    :returns: the problems found, empty when the plugin conforms.
    """
    install = dict(install or {})
    with _plugin_alone():
        try:
            registry = build_plugin_manager([], extra_plugins=[plugin])
        except LinkolisError as exc:
            return [f"loading: {exc}"]
        missing = [
            hook
            for hook in REQUIRED_HOOKS
            if not any(impl.plugin is plugin for impl in getattr(registry.pm.hook, hook).get_hookimpls())
        ]
        if missing:
            return [f"hooks: {', '.join(missing)} not implemented"]
        kinds = [k for k, owner in registry.owners.items() if owner is plugin]
        if len(kinds) != 1:
            return [f"configure_fields: expected one app kind, got {len(kinds)}"]
        kind: AppKind = registry.kinds[kinds[0]]
        problems = check_settings(kind.settings, install) + check_words(kind) + check_notification_hooks(plugin)
        if problems or authorize is None:
            return problems
        with tempfile.TemporaryDirectory(prefix="linkolis-conformance-") as home:
            host = host_factory(Path(home), [plugin])
            try:
                problems += _check_with_host(
                    host, kind, install, authorize, list(stock), list(shipments), list(cancellations), notification
                )
            finally:
                host.close()
    return list(dict.fromkeys(problems))  # each import may find the same problem: say it once


def _check_with_host(
    host: Host,
    kind: AppKind,
    install: dict[str, Any],
    authorize: Callable[[Host, str], Any],
    levels: list[tuple[str, int]],
    packages: list[dict[str, Any]] = (),
    cancels: list[dict[str, Any]] = (),
    notification: Callable[[Host, str], str] | None = None,
) -> list[str]:
    problems: list[str] = []
    host.registry._answer = _Watch(host, problems)  # type: ignore[method-assign]
    step = "install"
    try:
        name = apps.install(host, kind.kind, install).name
        step = "authorize"
        authorize(host, name)
        row = apps.get(host, name)
        if not row.authorized:
            return [f"authorize: {name!r} is not authorized after the authorize callable ran"]

        step = "health_check"
        try:
            with installed.run(host, row) as ctx:
                answer = host.registry.health_check(kind.kind, ctx)
        except PluginError as exc:
            return problems or [f"health_check: {exc}"]
        if problems:
            return problems
        if not answer:
            problems.append("health_check: no checks; name at least the credentials and one call that uses them")
        if problems:
            return problems
        failed = [f"{c.name}: {c.detail or c.status}" for c in answer if c.status == "failed"]
        if failed:
            problems.append("health_check: fails right after authorizing: " + "; ".join(failed))
        for check in answer:
            if check.status == "failed" and not (check.remedy or check.action):
                problems.append(f"health_check: {check.name!r} failed without a remedy or an action for the seller")
            if COMMAND_TEXT.search(check.remedy):
                problems.append(
                    f"health_check: {check.name!r} names a command in its remedy ({check.remedy!r}); give the check "
                    "an action (Action.AUTHORIZE, CONFIGURE with param, ...) and the CLI and web word it"
                )

        step = "import_orders (first)"
        orders.import_orders(host, name)
        step = "import_orders (second)"
        second = orders.import_orders(host, name)
        if second["new"] or second["updated"]:
            problems.append(
                f"import_orders: a second import right after the first found {second['new']} new and "
                f"{plural(second['updated'], 'updated order')}; expected none (is the cursor or updated_at "
                "unstable?)"
            )

        if levels:
            step = "push_stock"
            if not host.app_info(apps.get(host, name)).settings.stock_sync:
                apps.configure(host, name, {"stock_sync": True})
            for sku, quantity in levels:
                stock.set_stock(host, sku, quantity)
            stock.push_stock(host, name)
            app_id = apps.get(host, name).id
            unanswered = [
                r[0]
                for r in host.db.execute(
                    "SELECT sku FROM stock_pushes WHERE app_id = ? AND outcome = 'sending' ORDER BY sku", (app_id,)
                )
            ]
            if unanswered:
                problems.append(f"push_stock: no outcome for {', '.join(unanswered)}; return one per SKU pushed")

        if packages:
            step = "push_shipments"
            problems += _check_shipments(host, name, packages)

        if cancels:
            step = "cancel_order"
            problems += _check_cancellations(host, name, cancels)

        if notification is not None:
            step = "notifications"
            problems += _check_notified_order(host, name, notification)
    except (LinkolisError, ValidationError) as exc:
        problems.append(f"{step}: {type(exc).__name__}: {exc}")
    except Exception as exc:  # a plugin's crash is a finding, not the kit's crash
        problems.append(f"{step}: the plugin raised {type(exc).__name__}: {exc}")
    return problems


NOTIFICATION_SETS = {
    "read_notification": ("fetch_orders",),
    "fetch_orders": ("read_notification",),
    "subscribe_notifications": ("read_notification", "fetch_orders"),
    "unsubscribe_notifications": ("subscribe_notifications",),
}
# Messages of other marketplaces sharing a queue (Amazon's ORDER_CHANGE, bol's push, a test): never this plugin's.
FOREIGN_MESSAGES = (
    "{}",
    "[]",
    '{"NotificationType": "ANY_OFFER_CHANGED", "Payload": {}}',
    '{"retailerId": "0", "event": {"resource": "PROCESS_STATUS", "type": "X", "resourceId": "1"}}',
)
CONFORMANCE_QUEUE = "arn:aws:sqs:eu-west-1:000000000000:linkolis-conformance"


def check_notification_hooks(plugin: Any) -> list[str]:
    """The notification hooks a plugin implements make a whole, and its ``read_notification`` leaves another
    marketplace's messages alone (answers None, raising nothing)."""
    hooks = {name for name in NOTIFICATION_SETS if callable(getattr(plugin, name, None))}
    problems = [
        f"{hook}: implemented without {', '.join(n for n in needs if n not in hooks)}; "
        "the notification hooks work only together"
        for hook, needs in NOTIFICATION_SETS.items()
        if hook in hooks and not all(n in hooks for n in needs)
    ]
    if "read_notification" in hooks:
        for body in FOREIGN_MESSAGES:
            try:
                answer = plugin.read_notification(body=body)
            except Exception as exc:  # a plugin's crash is a finding
                problems.append(
                    f"read_notification: raised {type(exc).__name__} for another marketplace's message {body}; "
                    "answer None for what is not yours"
                )
                continue
            if answer is not None:
                problems.append(f"read_notification: read another marketplace's message {body} as its own")
    return problems


def _check_notified_order(host: Host, name: str, notification: Callable[[Host, str], str]) -> list[str]:
    """Subscribe twice (one id), then read the message ``notification`` gives twice (one id, the app's account),
    fetch its orders and store them twice (once)."""
    app = apps.get(host, name)
    kind, problems = app.kind, []
    if host.registry.implements(kind, "subscribe_notifications"):
        url = order_notifications.queue_url(host, kind)  # the host's queue (authorizing subscribed to it), if any
        arn = order_notifications.queue_arn(url) if url else CONFORMANCE_QUEUE
        with installed.run(host, app) as ctx:
            first = host.registry.subscribe_notifications(kind, ctx, arn)
            second = host.registry.subscribe_notifications(kind, ctx, arn)
        if first != second:
            problems.append(
                f"subscribe_notifications: subscribing again answered {second!r} after {first!r}; use what exists"
            )
    body = notification(host, name)
    event = host.registry.read_notification(kind, body)
    if event is None:
        return [*problems, "read_notification: answered None for the message the notification callable gave"]
    again = host.registry.read_notification(kind, body)
    if again is None or again.notification_id != event.notification_id:
        problems.append("read_notification: the same message read twice gave two ids; a copy must read the same")
    if not event.alias and event.account_id != app.account_id:
        problems.append(
            f"read_notification: names account {event.account_id!r}, not the app's {app.account_id!r}; if the "
            "marketplace names the account by another id, set alias=True"
        )
    with installed.run(host, app) as ctx:
        fetched = list(host.registry.fetch_orders(kind, ctx, event.order_ids))
    if not fetched:
        return [*problems, f"fetch_orders: yielded none of the orders {event.order_ids} the message names"]
    with host.db.atomic():
        orders.store_orders(host, app.id, fetched)
    with installed.run(host, app) as ctx:
        refetched = list(host.registry.fetch_orders(kind, ctx, event.order_ids))
    with host.db.atomic():
        twice = orders.store_orders(host, app.id, refetched)
    if twice["new"]:
        problems.append("fetch_orders: the same orders fetched twice were stored twice; keep their ids stable")
    return problems


def _check_shipments(host: Host, name: str, packages: list[dict[str, Any]]) -> list[str]:
    """Each shipment answered once; an accepted one, sent again as after a crash, accepted again (not refused)."""
    app = apps.get(host, name)
    if not host.registry.implements(app.kind, "push_shipments"):
        return ["push_shipments: not implemented, but shipments were given to check"]
    problems = []
    for package in packages:
        package = dict(package)
        shipments_.ship_order(host, package.pop("order"), **package)
    shipments_.push_shipments(host, name)
    rows = shipments_.list_shipments(host, name)
    unanswered = [f"{r['order']}/{r['package_reference']}" for r in rows if r["status"] == "sending"]
    if unanswered:
        problems.append(f"push_shipments: no outcome for {', '.join(unanswered)}; return one per shipment")
    accepted = [r["id"] for r in rows if r["status"] == "accepted"]
    if not accepted:
        return problems + ["push_shipments: no shipment was accepted; give at least one the marketplace takes"]
    with host.db.atomic():  # as a run killed after the marketplace took them leaves them
        host.db.conn.executemany("UPDATE shipments SET status = 'sending' WHERE id = ?", [(i,) for i in accepted])
    shipments_.push_shipments(host, name)
    again = {r["id"]: r for r in shipments_.list_shipments(host, name)}
    for shipment_id in accepted:
        r = again[shipment_id]
        if r["status"] != "accepted":
            problems.append(
                f"push_shipments: {r['order']}/{r['package_reference']} was accepted, then sent again "
                f"as interrupted (resent) and answered {r['status']} {r['message']!r}; a shipment the "
                "marketplace already has must be answered accepted"
            )
    return problems


def _check_cancellations(host: Host, name: str, cancels: list[dict[str, Any]]) -> list[str]:
    """Each cancellation answered; an accepted one, asked again as after a crash before the host's write, accepted
    again."""
    app = apps.get(host, name)
    if not host.registry.implements(app.kind, "cancel_order"):
        return ["cancel_order: not implemented, but cancellations were given to check"]
    problems, accepted = [], []
    for cancel in cancels:
        cancel = dict(cancel)
        result = orders.cancel_order(host, cancel.pop("order"), **cancel)
        if result["status"] == "accepted":
            accepted.append((result["order"], result["reason"]))
    if not accepted:
        return ["cancel_order: no cancellation was accepted; give at least one order the marketplace cancels"]
    for order_id, reason in accepted:
        with host.db.atomic():  # as a process killed after the marketplace's yes, before the host's write leaves it
            host.db.execute(
                "UPDATE orders SET status = 'unshipped' WHERE app_id = ? AND marketplace_order_id = ?",
                (app.id, order_id),
            )
        again = orders.cancel_order(host, order_id, reason=reason)
        if again["status"] != "accepted":
            problems.append(
                f"cancel_order: order {order_id} was cancelled, then asked again as after an interruption and "
                f"answered {again['status']} {again['message']!r}; an order the marketplace cancelled already "
                "must be answered accepted"
            )
    return problems


def assert_conformance(plugin: Any, **kwargs: Any) -> None:
    """``check_plugin``, as an assertion that lists every problem."""
    problems = check_plugin(plugin, **kwargs)
    if problems:
        raise AssertionError("the plugin does not conform:\n- " + "\n- ".join(problems))
