"""The fixtures every plugin's tests need, as a pytest plugin: linkolis-host declares this module under the
``pytest11`` entry point, so pytest offers its fixtures in any project where linkolis-host is installed, with no
conftest of the project's own.

Nothing here is autouse: the plugin reaches into every project that has linkolis-host installed, and only a
project's own conftest knows that its tests want a data directory of their own. A conftest opts in with one line,
``home = each_test_at_home("acme")``: every test then runs in a data directory of its own with the installed plugins
named loaded. The rest is shaped by overriding a fixture by its name in a conftest or a test module:
``linkolis_plugins``, ``clock``, ``operator_env``, ``transport`` and ``extra_plugins`` feed ``host``; ``run`` and
``conformance`` use them; ``sim_options`` is for a conftest's simulator fixture (``sim``) to read, and ``wire`` is
that simulator behind a contract check. ``moto_endpoint`` is moto's SQS server on 127.0.0.1 (one per session, with
``moto[server]`` installed), and ``aws`` points boto3 at it the standard AWS way, never at a real account.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from click.testing import CliRunner, Result

from ..cli import cli
from ..clock import VirtualClock
from ..host import Host
from ..local_sqs import LocalSqsError, aws_environment, local_sqs
from .conformance import assert_conformance

START = 1_780_000_000.0  # 2026-05-28T20:26:40Z: a fixed start, so that what a test sees does not depend on today


class Run:
    """The CLI as the seller runs it, on a given host: ``run("stock", "list")``, ``run.json("apps", "list")``."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int | None = 0, input: str | None = None) -> Result:
        """``linkolis ARGS``, asserting that it exits with ``code`` (None: any); the message shows what it printed.

        :param input: what the command reads on stdin (a secret piped to ``--credential name=-``, an answer).
        """
        result = self.runner.invoke(cli, list(args), obj=self.host, input=input, catch_exceptions=False)
        if code is not None:
            assert result.exit_code == code, (
                f"linkolis {' '.join(args)}: exit {result.exit_code}, not {code}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def json(self, *args: str, code: int | None = 0, input: str | None = None) -> Any:
        """``linkolis ARGS --json``, as the JSON it printed on stdout."""
        return json.loads(self(*args, "--json", code=code, input=input).stdout)


def assert_no_problems(transport: httpx.BaseTransport | None) -> None:
    """Fail when a contract-checking transport (one with a ``problems`` list) found requests that break the
    marketplace's own model."""
    problems = getattr(transport, "problems", None)
    if problems:
        pytest.fail(
            f"requests that break the marketplace's model ({type(transport).__name__}):\n- " + "\n- ".join(problems),
            pytrace=False,
        )


@pytest.fixture
def linkolis_plugins() -> list[str]:
    """The installed plugins (entry-point ids) a host in ``home`` loads: none unless a conftest names some."""
    return []


# The stores every test with a data directory runs on: ``LINKOLIS_TEST_STORES=sqlite,postgresql`` (read once, before
# any test clears the LINKOLIS_* variables) runs each such test on both, its id ending in [sqlite] or [postgresql].
STORES = [s.strip() for s in os.environ.get("LINKOLIS_TEST_STORES", "sqlite").split(",") if s.strip()]
# The stores a test that drives a browser (its ``chromium`` fixture) runs on: ``LINKOLIS_TEST_BROWSER_STORES``,
# else all of STORES. `dev.py test` keeps them to SQLite: their pages call the host functions the other web tests
# run on both, and a browser's minutes on a second store would not fit the suite's time.
BROWSER_STORES = [
    s.strip() for s in os.environ.get("LINKOLIS_TEST_BROWSER_STORES", ",".join(STORES)).split(",") if s.strip()
]
# Where the stores after the first apply, as folders of the project (``LINKOLIS_TEST_STORE_PATHS=tests``); empty:
# everywhere. `dev.py test` gives the host's own tests both stores and the plugins' SQLite, to keep within its time.
STORE_PATHS = [p.strip() for p in os.environ.get("LINKOLIS_TEST_STORE_PATHS", "").split(",") if p.strip()]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): the test is about the SQLite file itself (its errors, its modes, a database from an "
        "older version, SQLite's query plans): it runs on SQLite only, whatever LINKOLIS_TEST_STORES says",
    )
    config.addinivalue_line(
        "markers", "no_store: the test keeps no data (lint, docs, the simulator kit): it runs once, on no second store"
    )
    config.addinivalue_line(
        "markers",
        "one_store(reason): the test keeps data, but what it is about does not change with the store (argon2's "
        "memory, the demo's stand-ins, whose story on both stores is another test's): it runs on SQLite only",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "linkolis_store" not in metafunc.fixturenames or STORES == ["sqlite"]:
        return
    if "postgres_url" in metafunc.fixturenames:
        return  # a test of PostgreSQL itself: once
    stores = STORES
    if STORE_PATHS:
        where = metafunc.definition.path.relative_to(metafunc.config.rootpath).as_posix()
        if not any(where.startswith(p.rstrip("/") + "/") for p in STORE_PATHS):
            stores = STORES[:1]
    if "chromium" in metafunc.fixturenames:
        stores = [s for s in STORES if s in BROWSER_STORES]
    if any(metafunc.definition.get_closest_marker(m) is not None for m in ("sqlite_only", "no_store", "one_store")):
        stores = [s for s in stores if s == "sqlite"]
    if stores == ["sqlite"] or not stores:
        return
    metafunc.parametrize("linkolis_store", stores, indirect=True)


@pytest.fixture
def linkolis_store(request: pytest.FixtureRequest) -> str:
    """The store the test's host keeps its data in: "sqlite" (the file in ``home``) or "postgresql" (a database of
    its own on this session's throwaway server, ``LINKOLIS_DATABASE_URL``). Parametrised by ``LINKOLIS_TEST_STORES``."""
    return getattr(request, "param", "sqlite")


def _home(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    plugins: list[str],
    store: str = "sqlite",
    request: pytest.FixtureRequest | None = None,
) -> Path:
    for name in [name for name in os.environ if name.startswith("LINKOLIS_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "home"
    monkeypatch.setenv("LINKOLIS_HOME", str(path))
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", ",".join(plugins))
    if store == "postgresql":
        url = postgres_database()
        monkeypatch.setenv("LINKOLIS_DATABASE_URL", url)
        if request is not None:
            request.addfinalizer(lambda: _drop(url))
    elif store != "sqlite":
        raise ValueError(f"LINKOLIS_TEST_STORES: no store {store!r} (sqlite, postgresql)")
    return path


def open_store(home: Path) -> Any:
    """The test's store as its host opens it (for a test that looks at it from outside, a killed process's say):
    the PostgreSQL database of ``LINKOLIS_DATABASE_URL`` when the test runs on one, else the SQLite file in ``home``.
    Write through ``atomic()``, read with ``execute``; ``close`` it."""
    from .. import store

    return store.connect(os.environ.get("LINKOLIS_DATABASE_URL") or home / store.DB_FILE)


_server: Any = None
TEMPLATE = "linkolis_template"


def _drop(url: str) -> None:
    """The test's database goes at its end, with whatever connection it left open (this process's lock session
    on it first): the server keeps no idle connection of every test before."""
    from .. import locks

    locks.forget(url)
    if _server is not None:
        _server.drop_database(url.split("?")[0].rsplit("/", 1)[1])


def postgres_database() -> str:
    """A fresh, migrated database on this process's throwaway PostgreSQL server (started on first need, stopped
    when the process ends): copied from a template migrated once, so a test costs a ``CREATE DATABASE``."""
    global _server
    from .. import postgres as pg
    from .postgres import PostgresServer

    if _server is None:
        import atexit

        server = PostgresServer.start()
        atexit.register(server.stop)
        server.create_database(TEMPLATE)
        pg.connect(server.url(TEMPLATE)).close()
        _server = server
    return _server.create_database(f"t_{uuid.uuid4().hex[:16]}", template=TEMPLATE)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database of the test's own on this process's throwaway server, dropped at its
    end; the test is skipped on a machine without PostgreSQL (CI has it)."""
    from .postgres import server_bin

    if server_bin() is None:
        pytest.skip("no PostgreSQL server on this machine (apt-get install postgresql)")
    url = postgres_database()
    yield url
    _drop(url)


@pytest.fixture
def home(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    linkolis_plugins: list[str],
    linkolis_store: str,
    request: pytest.FixtureRequest,
) -> Path:
    """A data directory of the test's own (``LINKOLIS_HOME``), with every other ``LINKOLIS_*`` variable cleared so
    that the developer's shell cannot leak in, and ``LINKOLIS_LOAD_PLUGINS`` naming ``linkolis_plugins``; on
    PostgreSQL (``linkolis_store``) a database of its own too."""
    return _home(tmp_path, monkeypatch, linkolis_plugins, linkolis_store, request)


def each_test_at_home(*plugins: str) -> Any:
    """In a conftest, ``home = each_test_at_home("acme")``: ``home`` for every test of the folder without asking
    (autouse), loading the installed plugins named (entry-point ids; none for a host's own tests)."""

    @pytest.fixture(autouse=True, name="home")
    def _each_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linkolis_store: str, request: pytest.FixtureRequest
    ) -> Path:
        return _home(tmp_path, monkeypatch, list(plugins), linkolis_store, request)

    return _each_home


@pytest.fixture
def sim_options() -> dict[str, Any]:
    """What a test module wants of its simulator (``{"orders": 5}``): override it in the module; a conftest's
    simulator fixture reads it over its own defaults. Empty: the conftest's defaults."""
    return {}


@pytest.fixture
def clock() -> VirtualClock:
    """The host's clock (give a simulator the same one): waits cost no real time, and it starts at ``START``."""
    return VirtualClock(START)


@pytest.fixture
def operator_env() -> dict[str, str]:
    """Environment variables the operator sets for the host (``LINKOLIS_ACME_ENDPOINT``...), over the test's own."""
    return {}


@pytest.fixture
def transport() -> httpx.BaseTransport | None:
    """The httpx transport every request of the host goes through (a simulator's), None for the network."""
    return None


@pytest.fixture
def wire(request: pytest.FixtureRequest) -> httpx.BaseTransport:
    """The ``sim`` fixture's simulator (a kit ``BaseSimulator`` your conftest defines) as a transport that holds
    each request to the marketplace's OpenAPI file first (``problems``, ``requests``): ``def transport(wire):
    return wire`` sends the host through it, and ``host`` then fails a test whose requests broke the model."""
    return request.getfixturevalue("sim").checked_transport()


@pytest.fixture
def extra_plugins() -> list[Any]:
    """Plugins the host loads beside the installed ones ``linkolis_plugins`` names: modules or objects."""
    return []


@pytest.fixture
def host(
    home: Path,
    clock: VirtualClock,
    transport: httpx.BaseTransport | None,
    operator_env: dict[str, str],
    extra_plugins: list[Any],
) -> Iterator[Host]:
    """The host on ``home``, built from the fixtures above and closed after the test; the test then fails if the
    transport found requests that break the marketplace's model (``transport.problems``)."""
    built = Host(home, clock=clock, transport=transport, extra_plugins=extra_plugins, env=operator_env)
    yield built
    built.close()
    assert_no_problems(transport)


@pytest.fixture
def run(host: Host) -> Run:
    """The CLI on ``host``: ``run("apps", "list")`` asserts exit 0, ``run(..., code=2)`` another code,
    ``run.json(...)`` adds ``--json`` and parses what it printed."""
    return Run(host)


@pytest.fixture
def conformance(
    clock: VirtualClock, transport: httpx.BaseTransport | None, operator_env: dict[str, str]
) -> Callable[..., None]:
    """The conformance kit: ``conformance(plugin, install=..., authorize=..., stock=...)`` runs
    ``assert_conformance`` with a host on ``clock``, ``transport`` and ``operator_env`` (a ``host_factory`` given
    wins), then fails if the transport found requests that break the marketplace's model."""

    def check(plugin: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "host_factory",
            lambda home, plugins: Host(home, clock=clock, transport=transport, extra_plugins=plugins, env=operator_env),
        )
        assert_conformance(plugin, **kwargs)
        assert_no_problems(transport)

    return check


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server (an SQS that answers like Amazon's) on 127.0.0.1, for the whole session (``local_sqs``)."""
    try:
        with local_sqs(tmp_path_factory.mktemp("moto") / "moto_server.log") as endpoint:
            yield endpoint
    except LocalSqsError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto_endpoint: str) -> str:
    """boto3 configured the standard AWS way, pointed at moto (``AWS_ENDPOINT_URL_SQS``), never at a real account;
    returns moto's endpoint."""
    for name, value in aws_environment(moto_endpoint, tmp_path).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return moto_endpoint


@pytest.fixture
def sqs(aws: str) -> Any:
    """A boto3 SQS client on moto (``aws``)."""
    import boto3

    return boto3.client("sqs")


@pytest.fixture
def sqs_queue(sqs: Any) -> str:
    """A fresh queue at moto, its received messages back after 1 s when not deleted: its URL (an operator's
    ``notifications_queue_url``)."""
    return sqs.create_queue(QueueName=f"orders-{uuid.uuid4().hex}", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
