"""Credentials go only where they belong: an endpoint override (the simulator, a recording proxy) is HTTPS or
this machine unless the operator says otherwise in as many words, and `apps verify` and `apps show` say when an
app talks to something that is not Amazon."""

from __future__ import annotations

import pytest
from linkolis_amazon.plugin import configure_fields

from linkolis_host import OperatorConfigError
from linkolis_host.operator import load_operator_settings

ENDPOINT = "https://amazon.sim.test"


def operator_settings(section, env):
    """The Amazon operator settings the host loads from ``[plugins.amazon]`` and the environment."""
    return load_operator_settings(configure_fields(), section, env)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://proxy.example.com",
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://[::1]:9000/base",
        "http://localhost:5000",
    ],
)
def test_https_and_loopback_endpoints_are_accepted(endpoint):
    assert operator_settings({}, {"LINKOLIS_AMAZON_ENDPOINT": endpoint}).endpoint == endpoint


@pytest.mark.parametrize("endpoint", ["http://amazon.sim.test", "http://10.0.0.5:8080", "http://localhost.evil.com"])
def test_plain_http_to_another_machine_is_refused_with_the_setting_that_allows_it(endpoint):
    with pytest.raises(OperatorConfigError) as refusal:
        operator_settings({"endpoint": endpoint}, {})

    message = str(refusal.value)
    assert endpoint in message and "unencrypted" in message
    assert "LINKOLIS_AMAZON_ALLOW_INSECURE_ENDPOINT=1" in message and "allow_insecure_endpoint = true" in message


def test_the_operator_may_allow_plain_http_explicitly_in_the_file_or_the_environment():
    assert operator_settings({"endpoint": "http://proxy.lan:8080", "allow_insecure_endpoint": True}, {}).endpoint
    assert operator_settings(
        {"endpoint": "http://proxy.lan:8080"}, {"LINKOLIS_AMAZON_ALLOW_INSECURE_ENDPOINT": "1"}
    ).endpoint


@pytest.mark.parametrize("endpoint", ["ftp://amazon.sim.test", "amazon.sim.test"])
def test_an_endpoint_that_is_not_an_http_url_is_refused(endpoint):
    with pytest.raises(OperatorConfigError, match="not an http"):
        operator_settings({}, {"LINKOLIS_AMAZON_ENDPOINT": endpoint})


def test_an_insecure_endpoint_stops_the_authorization_before_anything_is_sent(run, host, seller, wire):
    run("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE")
    host.env["LINKOLIS_AMAZON_ENDPOINT"] = "http://amazon.sim.test"

    result = run("apps", "authorize", "Amazon DE", code=1)

    assert "plain HTTP to another machine" in result.stderr and "Traceback" not in result.output
    assert seller.browsers == [] and wire.requests == []
    checks = run.json("apps", "verify", "Amazon DE", code=1)["checks"]
    assert any(c["name"] == "operator settings" and "ALLOW_INSECURE_ENDPOINT" in c["detail"] for c in checks)
    assert any("plain HTTP" in n for n in run.json("apps", "show", "Amazon DE")["notices"])


def test_with_plain_http_allowed_the_app_works_and_says_so(run, host, seller):
    host.env.update(
        {"LINKOLIS_AMAZON_ENDPOINT": "http://amazon.sim.test", "LINKOLIS_AMAZON_ALLOW_INSECURE_ENDPOINT": "1"}
    )
    run("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE")

    run("apps", "authorize", "Amazon DE")

    [notice] = run.json("apps", "show", "Amazon DE")["notices"]
    assert "talks to http://amazon.sim.test over plain HTTP instead of Amazon" in notice


def test_verify_warns_that_the_app_talks_to_an_endpoint_override_and_still_verifies(run, authorized):
    report = run.json("apps", "verify", authorized)

    assert report["ok"] is True
    [endpoint] = [c for c in report["checks"] if c["name"] == "Amazon endpoint"]
    assert endpoint["status"] == "warning"
    assert f"this app talks to {ENDPOINT} instead of Amazon" in endpoint["detail"]
    assert "LINKOLIS_AMAZON_ENDPOINT" in endpoint["detail"] and "removes the override" in endpoint["remedy"]


def test_show_names_the_endpoint_override_and_says_nothing_without_one(run, host):
    run("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE")

    [notice] = run.json("apps", "show", "Amazon DE")["notices"]
    assert f"talks to {ENDPOINT} instead of Amazon" in notice
    assert f"notice                     this app talks to {ENDPOINT}" in run("apps", "show", "Amazon DE").stdout

    del host.env["LINKOLIS_AMAZON_ENDPOINT"]
    assert run.json("apps", "show", "Amazon DE")["notices"] == []
