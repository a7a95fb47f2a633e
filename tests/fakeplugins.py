"""Small plugins that break the rules one at a time, and the installed distributions that would carry them.

Importable by entry point (``fakeplugins:othermarket``) because ``tests`` is on the path.
"""

from __future__ import annotations

import importlib.metadata
import types

from pydantic import Field

from linkolis_host import AppKind, AppSettings, hookimpl


class OtherSettings(AppSettings):
    name: str = Field("Other Market", title="Application name", description="How this app is called")


def _plugin(name: str, **hooks) -> types.ModuleType:
    plugin = types.ModuleType(name)
    for hook, fn in hooks.items():
        setattr(plugin, hook, hookimpl(fn))
    return plugin


othermarket = _plugin(
    "othermarket",
    configure_fields=lambda: AppKind(
        kind="othermarket", title="Other Market", description="A second marketplace", settings=OtherSettings
    ),
)

# Offers the app kind testmarket already offers.
testmarket_twin = _plugin(
    "testmarket_twin",
    configure_fields=lambda: AppKind(
        kind="testmarket", title="Test Market again", description="Same kind, other plugin", settings=OtherSettings
    ),
)


def _import_order(ctx, cursor):  # one letter short of import_orders
    return iter(())


misspelled = _plugin("misspelled", import_order=_import_order)


class FakeDistribution:
    """What ``importlib.metadata.distributions()`` yields, as much of it as the host and pluggy read."""

    def __init__(self, package: str, version: str, entry_points: dict[str, str]) -> None:
        self.metadata = {"Name": package}
        self.version = version
        self.entry_points = [
            importlib.metadata.EntryPoint(name, value, "linkolis") for name, value in entry_points.items()
        ]


def with_fake_distributions(monkeypatch, *fakes: FakeDistribution) -> None:
    """Make the fakes look installed, next to the real distributions of the venv."""
    real = importlib.metadata.distributions
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: [*real(), *fakes])
