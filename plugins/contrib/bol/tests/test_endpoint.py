"""The endpoint override: one base URL for login and API, never plain HTTP to another machine unasked."""

from __future__ import annotations

import pytest
from linkolis_bol.plugin import configure_fields

from linkolis_host import OperatorConfigError
from linkolis_host.operator import load_operator_settings


def operator_settings(section, env):
    """The bol operator settings the host loads from ``[plugins.bol]`` and the environment."""
    return load_operator_settings(configure_fields(), section, env)


def test_plain_http_to_another_machine_is_refused_with_the_way_out():
    with pytest.raises(OperatorConfigError, match="LINKOLIS_BOL_ALLOW_INSECURE_ENDPOINT"):
        operator_settings({}, {"LINKOLIS_BOL_ENDPOINT": "http://bol.example.net"})
    allowed = operator_settings(
        {}, {"LINKOLIS_BOL_ENDPOINT": "http://bol.example.net", "LINKOLIS_BOL_ALLOW_INSECURE_ENDPOINT": "1"}
    )
    assert allowed.token_url() == "http://bol.example.net/token"


def test_loopback_and_https_are_fine_and_login_and_api_share_the_base():
    op = operator_settings({}, {"LINKOLIS_BOL_ENDPOINT": "http://127.0.0.1:8330/"})
    assert (op.token_url(), op.api_url()) == ("http://127.0.0.1:8330/token", "http://127.0.0.1:8330")
    real = operator_settings({}, {})
    assert (real.token_url(), real.api_url()) == ("https://login.bol.com/token", "https://api.bol.com")


def test_the_seller_sees_a_refused_endpoint_as_a_message_not_a_traceback(run, sim, monkeypatch):
    run("apps", "install", "bol", "--name", "bol NL")
    run.host.env["LINKOLIS_BOL_ENDPOINT"] = "http://bol.example.net"
    result = run(
        "apps",
        "authorize",
        "bol NL",
        "--credential",
        f"client_id={sim.client_id}",
        "--credential",
        "client_secret=-",
        input=sim.client_secret + "\n",
        code=None,
    )
    assert result.exit_code != 0 and "plain HTTP" in result.stderr and "Traceback" not in result.stderr


def test_a_setting_in_the_file_may_name_the_variable_that_holds_it():
    section = {"endpoint": "env:BOL_SIMULATOR"}
    assert operator_settings(section, {"BOL_SIMULATOR": "http://127.0.0.1:8330"}).api_url() == "http://127.0.0.1:8330"
    with pytest.raises(OperatorConfigError, match="BOL_SIMULATOR, which is not set"):
        operator_settings(section, {})
