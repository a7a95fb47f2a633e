"""A plugin author's project gets the host's fixtures from linkolis-host alone (its ``pytest11`` entry point), with
no conftest of its own: a data directory the developer's shell cannot leak into, a host, the CLI, and a test that
fails when the simulator's transport found a request that breaks the marketplace's model."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

A_TEST_OF_THE_HOST = """
import os


def test_the_host_lives_in_a_data_directory_of_the_tests_own(home, host, run):
    assert host.home == home and os.environ["LINKOLIS_HOME"] == str(home)
    linkolis_variables = sorted(name for name in os.environ if name.startswith("LINKOLIS_"))
    assert linkolis_variables == ["LINKOLIS_HOME", "LINKOLIS_LOAD_PLUGINS"], "the shell's own are cleared"
    assert os.environ["LINKOLIS_LOAD_PLUGINS"] == ""
    assert run.json("apps", "list") == []
    assert "No such command" in run("unheard-of", code=2).stderr
"""

A_TEST_WHOSE_REQUESTS_BREAK_THE_MODEL = """
import httpx
import pytest


class ContractChecking(httpx.MockTransport):
    problems = ["GET /orders: createdAfter is required"]


@pytest.fixture
def transport():
    return ContractChecking(lambda request: httpx.Response(200))


def test_a_request_against_the_model_fails_the_test(host):
    pass
"""


def pytest_in(project, *options: str) -> subprocess.CompletedProcess:
    """pytest in the author's project, from a shell with Linkolis settings of its own."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
        "LINKOLIS_SECRET_KEY": "the-developers-own-key",
        "LINKOLIS_LOAD_PLUGINS": "amazon",
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *options],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "linkolis-acme"
    (folder / "tests").mkdir(parents=True)
    (folder / "tests" / "test_host.py").write_text(textwrap.dedent(A_TEST_OF_THE_HOST))
    (folder / "tests" / "test_wire.py").write_text(textwrap.dedent(A_TEST_WHOSE_REQUESTS_BREAK_THE_MODEL))
    return folder


def test_a_plugin_authors_project_gets_the_fixtures_with_no_conftest(project):
    assert not list(project.rglob("conftest.py"))
    result = pytest_in(project)
    output = result.stdout + result.stderr
    assert "PASSED tests/test_host.py::test_the_host_lives_in_a_data_directory_of_the_tests_own" in output, output
    assert "ERROR tests/test_wire.py::test_a_request_against_the_model_fails_the_test" in output, output
    assert "requests that break the marketplace's model (ContractChecking):\n- GET /orders: createdAfter" in output
    assert "2 passed, 1 error" in output, output  # the test ran; its teardown, closing the host, failed it
