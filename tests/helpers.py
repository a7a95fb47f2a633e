"""What many host tests do on the way to what they check."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

from linkolis_host.cli import cli


def install_app(run, name="Shop EU", region="EU", *extra):
    """Install a Test Market app through the CLI; return what `apps install --json` printed."""
    return run.json("apps", "install", "testmarket", "--name", name, "--region", region, *extra)


def authorize_app(run, name="Shop EU", account="SELLER1", code=0):
    """Authorize with pasted credentials (no browser), with the token the test market hands out."""
    return run(
        "apps",
        "authorize",
        name,
        "--credential",
        f"token={token_of(account)}",
        "--credential",
        f"account={account}",
        code=code,
    )


def token_of(account: str) -> str:
    return f"tok-{account}-s3cret-value"


def dump_database(path) -> dict[str, list]:
    """Every row of every table, to show that a refused command changed nothing."""
    conn = sqlite3.connect(str(path))
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM [{t}]"))) for t in tables}
    finally:
        conn.close()


class Run:
    """The CLI as the seller runs it, on a given host: ``run("stock", "list")``, ``run.json(...)``."""

    def __init__(self, host):
        self.host = host
        self.runner = CliRunner()

    def __call__(self, *args, input=None, code=0):
        result = self.runner.invoke(cli, list(args), obj=self.host, input=input, catch_exceptions=False)
        if code is not None:
            assert result.exit_code == code, f"exit {result.exit_code}:\n{result.output}\n{result.stderr}"
        return result

    def json(self, *args, code=0):
        result = self(*args, "--json", code=code)
        return json.loads(result.stdout)
