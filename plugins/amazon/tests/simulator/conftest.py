"""Fixtures for the SP-API simulator tests: a virtual clock, a small simulator, a signed-in client, and an
openapi-core check of what the simulator answers, run by the kit's contract on what the client received."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from linkolis_host.clock import VirtualClock

sys.path.insert(0, str(Path(__file__).parent))

from linkolis_amazon.simulator import Simulator, contract
from sim_support import START, SpApi, make_sim


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def sim(clock: VirtualClock) -> Simulator:
    return make_sim(clock)


@pytest.fixture
def api(sim: Simulator) -> Iterator[SpApi]:
    client = SpApi(sim)
    yield client
    client.http.close()


# --- a contract check of what the simulator answers, by the kit rather than the simulator's own path --------------


@pytest.fixture
def conforms():
    """``conforms(response)``: the response matches the model of its operation (openapi-core, not the simulator)."""

    def check(response: httpx.Response) -> httpx.Response:
        errors = contract.SPAPI.problems_of_response(response)
        assert not errors, f"{response.request.method} {response.request.url.path} -> {response.status_code}: {errors}"
        return response

    return check


@pytest.fixture
def refused_by_model():
    """``refused_by_model(request)``: openapi-core alone finds the request invalid."""

    def check(request: httpx.Request) -> bool:
        return bool(contract.SPAPI.problems_of_request(request))

    return check
