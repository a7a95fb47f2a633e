"""docs/plugin-hooks.md is the contract plugin authors read: these tests fail when it and the code drift apart."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
import tomllib
import types
from pathlib import Path

import httpx
import pytest

import linkolis_host
from linkolis_host import VirtualClock, apps, hookspecs
from linkolis_host.context import Context
from linkolis_host.host import Host
from linkolis_host.testing import assert_conformance

pytestmark = pytest.mark.no_store

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "plugin-hooks.md").read_text(encoding="utf-8")
HOOKS = sorted(name for name, fn in vars(hookspecs).items() if inspect.isfunction(fn) and hasattr(fn, "linkolis_spec"))


class _Plain(str):
    """An annotation kept as text (``from __future__ import annotations``), shown without quotes."""

    def __repr__(self) -> str:
        return str(self)


def signature_text(fn) -> str:
    """``def name(...) -> ...`` as ``inspect.signature`` renders it, string annotations shown unquoted."""
    sig = inspect.signature(fn)
    params = [
        p.replace(annotation=_Plain(p.annotation)) if isinstance(p.annotation, str) else p
        for p in sig.parameters.values()
    ]
    ret = sig.return_annotation
    shown = sig.replace(parameters=params, return_annotation=_Plain(ret) if isinstance(ret, str) else ret)
    return f"def {fn.__name__}{shown}"


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S)


def test_the_hooks_are_the_ones_the_design_names():
    assert HOOKS == [
        "authorize",
        "cancel_order",
        "configure_fields",
        "demo_environment",
        "fetch_orders",
        "health_check",
        "import_orders",
        "push_shipments",
        "push_stock",
        "read_notification",
        "read_stock",
        "subscribe_notifications",
        "unsubscribe_notifications",
    ]


@pytest.mark.parametrize("hook", HOOKS)
def test_each_hook_is_documented_with_its_exact_signature(hook):
    text = signature_text(getattr(hookspecs, hook))
    assert f"### {hook}\n" in DOC, f"no section for {hook}"
    assert text in [block.strip() for block in code_blocks("python")], f"docs do not show: {text}"
    section = DOC.split(f"### {hook}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    for part in ("**Receives**", "**Returns**", "**Raises**"):
        assert part in section, f"{hook}: the docs do not say what it {part.strip('*').lower()}"


@pytest.mark.parametrize("hook", HOOKS)
def test_each_hook_has_a_test_hook_function(hook):
    names = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert f"test_hook_{hook}" in names


def test_every_context_field_is_documented():
    for field in dataclasses.fields(Context):
        if field.name != "on_credentials":  # the host's wiring for update_credentials, documented as the method
            assert f"| `{field.name}` |" in DOC, f"Context.{field.name} is not documented"
    assert "update_credentials" in DOC


def test_every_model_a_plugin_imports_is_documented():
    import pydantic

    models = [
        name
        for name in linkolis_host.__all__
        if isinstance(getattr(linkolis_host, name), type)
        and (
            issubclass(getattr(linkolis_host, name), pydantic.BaseModel)
            or dataclasses.is_dataclass(getattr(linkolis_host, name))
            or name == "OrderStatus"
        )
    ]
    assert len(models) > 15
    for name in models:
        assert f"| `{name}` |" in DOC, f"model {name} is not in the models table"


def test_every_error_a_plugin_raises_is_documented():
    for name in linkolis_host.__all__:
        value = getattr(linkolis_host, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert f"`{name}`" in DOC, f"error {name} is not documented"


# -- the example plugin works, and keeps the contract -----------------------------------------------------------


def test_the_example_pyproject_declares_the_entry_point():
    [pyproject] = [b for b in code_blocks("toml") if "entry-points" in b]
    entry_points = tomllib.loads(pyproject)["project"]["entry-points"]
    assert entry_points == {"linkolis": {"acme": "linkolis_acme.plugin"}}


class FakeAcme:
    """Acme's API, as much as the example uses: a key, three orders in pages of two, stock per listing."""

    ORDERS = [
        {
            "id": f"A-{n}",
            "status": status,
            "total": "12.50",
            "created": f"2026-03-0{n}T10:00:00+00:00",
            "updated": f"2026-03-0{n}T12:00:00+00:00",
            "lines": [{"sku": "SKU-1", "qty": n}],
        }
        for n, status in ((1, "sent"), (2, "new"), (3, "cancelled"))
    ]

    def __init__(self):
        self.stock: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != "Bearer good-key":
            return httpx.Response(401, json={"message": "bad key"})
        path, params = request.url.path.removeprefix("/v1"), request.url.params
        if path == "/me":
            return httpx.Response(200, json={"seller_id": "ACME-7"})
        if path == "/orders":
            due = [o for o in self.ORDERS if o["updated"] >= params["updated_since"]]
            start = int(params.get("page", 0))
            more = start + 2 < len(due)
            return httpx.Response(
                200, json={"orders": due[start : start + 2], "next_page": str(start + 2) if more else None}
            )
        sku = path.split("/")[2]
        if request.method == "PUT":
            if sku.startswith("BAD"):
                return httpx.Response(400, json={"message": "no such listing"})
            self.stock[sku] = json.loads(request.content)["quantity"]
            return httpx.Response(200, json={"quantity": self.stock[sku]})
        if sku in self.stock:
            return httpx.Response(200, json={"quantity": self.stock[sku]})
        return httpx.Response(404, json={"message": "no such listing"})


def example_plugin() -> types.ModuleType:
    [source] = [b for b in code_blocks("python") if "@hookimpl" in b]
    module = types.ModuleType("linkolis_acme_plugin_from_the_docs")
    exec(compile(source, "docs/plugin-hooks.md", "exec", dont_inherit=True), module.__dict__)
    return module


def test_the_example_plugin_passes_the_conformance_kit():
    acme = FakeAcme()
    plugin = example_plugin()
    assert_conformance(
        plugin,
        install={"country": "DE"},
        authorize=lambda host, name: apps.authorize_direct(host, name, {"api_key": "good-key"}),
        host_factory=lambda home, plugins: Host(
            home, clock=VirtualClock(), extra_plugins=plugins, transport=httpx.MockTransport(acme)
        ),
        stock=[("SKU-1", 5), ("BAD-1", 2)],
    )
    assert acme.stock == {"SKU-1": 3}, "5 on hand, 2 held by the open order the kit imported first"


# -- docs/operations.md: the notification set-up an operator follows ----------------------------------------------


def operations_section(heading: str) -> str:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert f"\n{heading}\n" in text, f"docs/operations.md has no section {heading!r}"
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_notification_set_up_names_every_setting_permission_and_command():
    from linkolis_host.cli.notifications import notifications_group
    from linkolis_host.operator import OperatorSettings

    section = operations_section("## 3b. Orders in seconds: the AWS and Seller Central steps for notifications")
    [setting] = [name for name in OperatorSettings.model_fields if name.startswith("notifications_")]
    names = [
        setting,
        f"LINKOLIS_AMAZON_{setting.upper()}",
        f"LINKOLIS_<ID>_{setting.upper()}",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_REGION",
        "AWS_PROFILE",
        "arn:aws:iam::437568002678:root",
        "createDestination",
        "createSubscription",
        "processingDirective",
        "### bol",
    ]
    names += [f"sqs:{action}" for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "SendMessage")]
    names += [f"linkolis notifications {command}" for command in notifications_group.commands]
    missing = [name for name in names if name not in section]
    assert not missing, f"the notification set-up in docs/operations.md no longer names: {missing}"
