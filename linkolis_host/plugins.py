"""Building the plugin manager: entry points of group ``linkolis``, enable rules, ``check_pending``.

The host never imports a plugin by name: installed distributions declare ``[project.entry-points.linkolis]``
and the operator enables them in ``linkolis.toml`` (or ``LINKOLIS_LOAD_PLUGINS`` for one command).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence, TypeVar

import pluggy
from pydantic import BaseModel, ValidationError

from . import hookspecs
from .config import format_validation_error
from .errors import PluginError, PluginLoadError, UserError
from .models import (
    AppKind,
    AuthorizationStart,
    Cancellation,
    CancellationOutcome,
    CheckAgain,
    Credentials,
    DemoEnvironment,
    HealthCheck,
    NotificationEvent,
    Order,
    OrderBatch,
    Shipment,
    ShipmentOutcome,
    StockItem,
    StockLevel,
    StockOutcome,
)

if TYPE_CHECKING:
    from .context import Context

GROUP = "linkolis"


@dataclass
class InstalledPlugin:
    id: str
    package: str
    version: str


T = TypeVar("T", bound=BaseModel)
U = TypeVar("U", bound=BaseModel)


@dataclass
class Registry:
    """The loaded plugins and the app kinds they offer: one typed method per hook.

    Each method calls the hook on the plugin that owns the app kind only, and validates the answer against the
    contract in one place: a malformed answer is a ``PluginError`` naming the plugin and the hook. Nothing else in
    the host calls a hook.
    """

    pm: pluggy.PluginManager
    kinds: dict[str, AppKind]
    owners: dict[str, Any]
    _callers: dict[tuple[str, str], Any] = field(default_factory=dict)

    def kind(self, kind: str) -> AppKind:
        try:
            return self.kinds[kind]
        except KeyError:
            known = ", ".join(sorted(self.kinds)) or "none"
            raise PluginLoadError(f"no plugin offers the app kind {kind!r} (available: {known})") from None

    def implements(self, kind: str, hook: str) -> bool:
        owner = self.owners[kind]
        return any(impl.plugin is owner for impl in getattr(self.pm.hook, hook).get_hookimpls())

    def plugin_name(self, kind: str) -> str:
        return self.pm.get_name(self.owners[kind]) or kind

    # -- the hooks -------------------------------------------------------------------------------------------

    def authorize(self, kind: str, ctx: Context, step: str, params: dict[str, str]) -> AuthorizationStart | Credentials:
        answer = self._answer(kind, "authorize", ctx=ctx, step=step, params=params)
        model: type[BaseModel] = AuthorizationStart if step in ("start", "continue") else Credentials
        return self._check(kind, "authorize", model, answer)  # type: ignore[return-value]

    def import_orders(self, kind: str, ctx: Context, cursor: dict | None) -> Iterator[OrderBatch]:
        return self._each(
            kind, "import_orders", OrderBatch, self._answer(kind, "import_orders", ctx=ctx, cursor=cursor)
        )

    def push_stock(self, kind: str, ctx: Context, items: Sequence[StockItem]) -> Iterator[StockOutcome | CheckAgain]:
        answer = self._answer(kind, "push_stock", ctx=ctx, items=items)
        return self._each(kind, "push_stock", StockOutcome, answer, also=CheckAgain)

    def read_stock(self, kind: str, ctx: Context, skus: list[str] | None) -> Iterator[StockLevel]:
        if not self.implements(kind, "read_stock"):
            raise UserError(f"{self.kind(kind).title} apps cannot read stock back")
        return self._each(kind, "read_stock", StockLevel, self._answer(kind, "read_stock", ctx=ctx, skus=skus))

    def push_shipments(self, kind: str, ctx: Context, shipments: list[Shipment]) -> Iterator[ShipmentOutcome]:
        if not self.implements(kind, "push_shipments"):
            raise UserError(f"{self.kind(kind).title} apps cannot confirm shipments")
        return self._each(
            kind, "push_shipments", ShipmentOutcome, self._answer(kind, "push_shipments", ctx=ctx, shipments=shipments)
        )

    def cancel_order(self, kind: str, ctx: Context, cancellation: Cancellation) -> CancellationOutcome:
        if not self.implements(kind, "cancel_order"):
            raise UserError(f"{self.kind(kind).title} apps cannot cancel orders from linkolis")
        answer = self._answer(kind, "cancel_order", ctx=ctx, cancellation=cancellation)
        if answer is None:
            raise PluginError(
                f"the {self.plugin_name(kind)} plugin's cancel_order answered nothing, not a CancellationOutcome"
            )
        outcome = self._check(kind, "cancel_order", CancellationOutcome, answer)
        if outcome.marketplace_order_id != cancellation.marketplace_order_id:
            raise PluginError(
                f"the {self.plugin_name(kind)} plugin's cancel_order answered about order "
                f"{outcome.marketplace_order_id!r}, asked to cancel {cancellation.marketplace_order_id!r}"
            )
        return outcome

    def health_check(self, kind: str, ctx: Context) -> list[HealthCheck]:
        answer = self._answer(kind, "health_check", ctx=ctx)
        if answer is None:
            return []
        if not isinstance(answer, list):
            raise PluginError(
                f"the {self.plugin_name(kind)} plugin's health_check answered "
                f"{type(answer).__name__}, not a list of HealthCheck"
            )
        return [self._check(kind, "health_check", HealthCheck, item, number) for number, item in enumerate(answer)]

    def subscribe_notifications(self, kind: str, ctx: Context, queue_arn: str) -> str | None:
        answer = self._answer(kind, "subscribe_notifications", ctx=ctx, queue_arn=queue_arn)
        if answer is not None and not isinstance(answer, str):
            raise PluginError(
                f"the {self.plugin_name(kind)} plugin's subscribe_notifications answered "
                f"{type(answer).__name__}, not a subscription id"
            )
        return answer

    def unsubscribe_notifications(self, kind: str, ctx: Context, subscription: str) -> None:
        self._answer(kind, "unsubscribe_notifications", ctx=ctx, subscription=subscription)

    def read_notification(self, kind: str, body: str) -> NotificationEvent | None:
        answer = self._answer(kind, "read_notification", body=body)
        return None if answer is None else self._check(kind, "read_notification", NotificationEvent, answer)

    def fetch_orders(self, kind: str, ctx: Context, order_ids: list[str]) -> Iterator[Order]:
        if not self.implements(kind, "fetch_orders"):
            raise UserError(f"{self.kind(kind).title} apps cannot fetch orders by id")
        return self._each(kind, "fetch_orders", Order, self._answer(kind, "fetch_orders", ctx=ctx, order_ids=order_ids))

    def demo_environments(self, home: Path) -> list[DemoEnvironment]:
        """Every enabled plugin's stand-in, in load order (pluggy calls the last registered first)."""
        answers = list(reversed(self.pm.hook.demo_environment(home=home)))
        for answer in answers:
            if not isinstance(answer, DemoEnvironment):
                for started in answers:
                    if isinstance(started, DemoEnvironment):
                        started.close()
                raise PluginError(
                    f"a plugin's demo_environment answered {type(answer).__name__}, not a DemoEnvironment"
                )
        return answers

    # -- one way to call, one place to validate ---------------------------------------------------------------

    def _answer(self, kind: str, hook: str, **kwargs: Any) -> Any:
        """The owning plugin's raw answer to ``hook``; None when it does not implement it."""
        key = (kind, hook)
        caller = self._callers.get(key)
        if caller is None:
            owner = self.owners[kind]
            others = [p for p in self.pm.get_plugins() if p is not owner]
            caller = self._callers[key] = self.pm.subset_hook_caller(hook, remove_plugins=others)
        results = caller(**kwargs)
        return results[0] if results else None

    def _check(self, kind: str, hook: str, model: type[T], answer: Any, number: int | None = None) -> T:
        if isinstance(answer, model):
            return answer
        try:
            return model.model_validate(answer)
        except ValidationError as exc:
            where = "" if number is None else f" (item {number})"
            raise PluginError(
                f"the {self.plugin_name(kind)} plugin's {hook} answered something that is not a "
                f"{model.__name__}{where}:\n{format_validation_error(exc, '  ')}"
            ) from None

    def _each(self, kind: str, hook: str, model: type[T], answer: Any, also: type[U] | None = None) -> Iterator[T | U]:
        """Each item of ``answer`` checked as a ``model``; an ``also`` (a second type the hook may yield) as it is."""
        if answer is None:
            return
        try:
            items = iter(answer)
        except TypeError:
            raise PluginError(
                f"the {self.plugin_name(kind)} plugin's {hook} answered {type(answer).__name__}, "
                f"not an iterable of {model.__name__}"
            ) from None
        for number, item in enumerate(items):
            yield item if also is not None and isinstance(item, also) else self._check(kind, hook, model, item, number)


def installed_plugins() -> dict[str, list[InstalledPlugin]]:
    """Every entry point of group ``linkolis`` by id; more than one per id is an error the loader reports.

    One distribution found twice on ``sys.path`` (pytest run from a plugin's own folder puts it there next to
    site-packages) is one plugin: copies with the same distribution name, version and entry point are one.
    """
    found: dict[str, list[InstalledPlugin]] = {}
    seen: set[tuple[str, str, str, str]] = set()
    for dist in importlib.metadata.distributions():
        package = dist.metadata["Name"]
        for ep in dist.entry_points:
            if ep.group != GROUP:
                continue
            key = (ep.name, _canonical(package), dist.version, ep.value)
            if key in seen:
                continue
            seen.add(key)
            found.setdefault(ep.name, []).append(InstalledPlugin(ep.name, package, dist.version))
    return found


def _canonical(package: str | None) -> str:
    """A distribution's name as pip compares them (PEP 503): linkolis_amazon is linkolis-amazon."""
    return re.sub(r"[-_.]+", "-", package or "").lower()


def check_enabled(config_enabled: list[str] | None) -> list[str]:
    """The plugins to load, or ``PluginLoadError`` for two installed plugins with one id or one enabled but not
    installed. Imports no plugin, so every command can check it first."""
    installed = installed_plugins()
    for plugin_id, copies in installed.items():
        if len(copies) > 1:
            packages = ", ".join(f"{c.package} {c.version}" for c in copies)
            raise PluginLoadError(f"two installed plugins have the id {plugin_id!r}: {packages}; uninstall one")
    wanted = enabled_from(config_enabled, installed)
    missing = [name for name in wanted if name not in installed]
    if missing:
        have = ", ".join(sorted(installed)) or "none"
        raise PluginLoadError(
            f"plugin {', '.join(repr(m) for m in missing)} is enabled but not installed "
            f"(installed plugins: {have}); install it or remove it from [plugins] enabled in linkolis.toml"
        )
    return wanted


def enabled_from(config_enabled: list[str] | None, installed: Iterable[str]) -> list[str]:
    """Apply the enable rules: ``LINKOLIS_LOAD_PLUGINS`` (unset = config, "" = none, "a,b" = exactly those),
    then the config's ``enabled`` list, else every installed plugin."""
    override = os.environ.get("LINKOLIS_LOAD_PLUGINS")
    if override is not None:
        return [name.strip() for name in override.split(",") if name.strip()]
    if config_enabled is not None:
        return list(config_enabled)
    return sorted(installed)


def build_plugin_manager(config_enabled: list[str] | None = None, extra_plugins: Iterable[Any] = ()) -> Registry:
    """Load the enabled plugins (plus ``extra_plugins``, modules or objects, as tests do) and check them.

    Raises ``PluginLoadError`` for a plugin enabled but not installed, two plugins with one id, a plugin that
    fails to import, a hook implementation no spec knows (a misspelled ``@hookimpl``), or two plugins that
    offer the same app kind.
    """
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    wanted = check_enabled(config_enabled)
    try:
        for name in wanted:
            pm.load_setuptools_entrypoints(GROUP, name=name)
        for plugin in extra_plugins:
            pm.register(plugin, name=getattr(plugin, "__name__", None))
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(f"plugin {exc.plugin!r} does not fit the hook contract: {exc}") from None
    except ImportError as exc:
        raise PluginLoadError(f"a plugin failed to import: {exc}") from None
    except ValueError as exc:  # pluggy: a plugin name registered twice
        raise PluginLoadError(str(exc)) from None

    kinds: dict[str, AppKind] = {}
    owners: dict[str, Any] = {}
    for impl in pm.hook.configure_fields.get_hookimpls():
        name = pm.get_name(impl.plugin)
        try:
            answer = impl.function()
            kind = answer if isinstance(answer, AppKind) else AppKind.model_validate(answer)
        except ValidationError as exc:
            raise PluginLoadError(f"plugin {name!r} returned an invalid catalog entry: {exc}") from None
        if kind.kind in kinds:
            raise PluginLoadError(
                f"two plugins offer the app kind {kind.kind!r}: {pm.get_name(owners[kind.kind])} and {name}"
            )
        kinds[kind.kind] = kind
        owners[kind.kind] = impl.plugin
    return Registry(pm, kinds, owners)
