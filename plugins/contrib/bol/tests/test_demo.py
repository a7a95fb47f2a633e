"""The demo stand-in serves a bol the app can be authorized against and imports from, over loopback HTTP."""

from __future__ import annotations

from linkolis_bol.demo import environment

from linkolis_host import apps, orders
from linkolis_host.host import Host


def test_the_demo_stand_in_is_a_working_bol_on_loopback(tmp_path):
    env = environment(tmp_path)
    try:
        assert env.endpoint.startswith("http://127.0.0.1:") and env.config == {"endpoint": env.endpoint}
        host = Host(tmp_path / "home", env=env.env)
        row = apps.install(host, "bol", env.install)
        apps.authorize_direct(host, row.name, env.credentials)
        _, checks, ok = apps.verify(host, row.name)
        assert ok, checks
        assert orders.import_orders(host, row.name)["new"] == 120
        host.close()
    finally:
        env.close()
