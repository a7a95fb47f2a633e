"""Fixtures for the bol app's tests: a virtual clock shared by the host and an in-process bol simulator, a host
with the bol plugin pointed at it, and a check of every request the plugin sends against bol's own spec."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from linkolis_bol.simulator import Simulator

from linkolis_host import VirtualClock
from linkolis_host.cli import cli
from linkolis_host.host import Host

ENDPOINT = "https://bol.sim.test"
START = 1_780_000_000.0  # 2026-05-28T20:26:40Z


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("LINKOLIS_HOME", str(path))
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "bol")
    monkeypatch.delenv("LINKOLIS_SECRET_KEY", raising=False)
    for name in ("ENDPOINT", "ALLOW_INSECURE_ENDPOINT", "FIRST_IMPORT_DAYS", "OFFER_MAP_HOURS"):
        monkeypatch.delenv(f"LINKOLIS_BOL_{name}", raising=False)
    return path


@pytest.fixture
def clock():
    return VirtualClock(START)


@pytest.fixture
def sim_options():
    """Override in a test module to shape the simulator."""
    return {}


@pytest.fixture
def sim(clock, sim_options):
    options = dict(orders=80, offers=20, order_window_days=5, validate_responses=True)
    options.update(sim_options)
    return Simulator(clock, **options)


@pytest.fixture
def wire(sim):
    return sim.checked_transport()


@pytest.fixture
def host(home, clock, wire):
    h = Host(home, clock=clock, transport=wire, env={"LINKOLIS_BOL_ENDPOINT": ENDPOINT})
    yield h
    h.close()
    assert not wire.problems, "requests that break bol's spec:\n" + "\n".join(wire.problems)


class Run:
    def __init__(self, host):
        self.host = host
        self.runner = CliRunner()

    def __call__(self, *args, code=0, input=None):
        result = self.runner.invoke(cli, list(args), obj=self.host, input=input, catch_exceptions=False)
        if code is not None:
            assert result.exit_code == code, f"exit {result.exit_code}:\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args, code=0, input=None):
        return json.loads(self(*args, "--json", code=code, input=input).stdout)


@pytest.fixture
def run(host):
    return Run(host)


@pytest.fixture
def authorized(run, sim):
    """A "bol NL" app with stock sync on, authorized with the simulator's credentials (the secret piped)."""
    run("apps", "install", "bol", "--name", "bol NL", "--stock-sync")
    run(
        "apps",
        "authorize",
        "bol NL",
        "--credential",
        f"client_id={sim.client_id}",
        "--credential",
        "client_secret=-",
        input=sim.client_secret + "\n",
    )
    return "bol NL"
