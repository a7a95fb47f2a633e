"""`python -m linkolis_bol.simulator` prints what points linkolis at it, ready to paste: an `export` line and a
`[plugins.bol]` block; pasted, a seller's bol app installs and verifies against it. Its --help teaches by example."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tomllib

from linkolis_host import apps
from linkolis_host.host import Host
from linkolis_host.testing import commands


def _printed(*args):
    """The simulator's command line, serving while the ``with`` lasts: its printout up to "Ctrl-C stops it."."""
    return commands.printout("linkolis_bol.simulator", "--port", "0", "--orders", "5", "--offers", "4", *args)


def _exports(lines):
    return dict(shlex.split(line)[1].split("=", 1) for line in lines if line.startswith("export "))


def _toml_block(lines, header):
    start = lines.index(header)
    block = [header]
    for line in lines[start + 1 :]:
        if not line or line.startswith("#"):
            break
        block.append(line)
    return tomllib.loads("\n".join(block))


def test_the_printed_settings_point_linkolis_at_the_simulator(tmp_path, monkeypatch):
    with _printed() as lines:
        base = lines[0].rsplit(" ", 1)[1]
        assert base.startswith("http://127.0.0.1:")
        assert _exports(lines) == {"LINKOLIS_BOL_ENDPOINT": base}
        assert _toml_block(lines, "[plugins.bol]") == {"plugins": {"bol": {"endpoint": base}}}
        client_id = next(line.split()[-1] for line in lines if "Client ID" in line)
        secret = next(line.split()[-1] for line in lines if "Client Secret" in line)

        # Pasted into the shell: the seller's app reaches the simulator.
        monkeypatch.delenv("LINKOLIS_BOL_ENDPOINT", raising=False)
        with Host(tmp_path / "shell", env={**os.environ, **_exports(lines)}) as host:
            apps.install(host, "bol", {"name": "bol NL"})
            apps.authorize_direct(host, "bol NL", {"client_id": client_id, "client_secret": secret})
            assert apps.verify(host, "bol NL")[2]
            apps.remove(host, "bol NL")  # on PostgreSQL the next installation shares its database: one app an account
        # Pasted into linkolis.toml instead: the same.
        home = tmp_path / "toml"
        home.mkdir()
        start = lines.index("[plugins.bol]")
        (home / "linkolis.toml").write_text("\n".join(lines[start : start + 2]) + "\n", encoding="utf-8")
        with Host(home) as host:  # another installation (on PostgreSQL the same database: another name)
            apps.install(host, "bol", {"name": "bol NL (toml)"})
            apps.authorize_direct(host, "bol NL (toml)", {"client_id": client_id, "client_secret": secret})
            assert apps.verify(host, "bol NL (toml)")[2]


def test_the_help_has_a_summary_then_examples():
    out = commands.help_text("linkolis_bol.simulator")
    assert out.index("Serve a local bol") < out.index("options:") < out.index("Examples:")
    assert "python -m linkolis_bol.simulator --port 0" in out


def test_a_port_in_use_is_a_clear_error():
    with _printed() as lines:
        port = lines[0].rsplit(":", 1)[1]
        taken = subprocess.run(
            [sys.executable, "-m", "linkolis_bol.simulator", "--port", port], capture_output=True, text=True, timeout=60
        )
        assert taken.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in taken.stderr
        assert "Traceback" not in taken.stderr
