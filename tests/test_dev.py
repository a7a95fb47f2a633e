"""The quick start's `dev.py`: its usage names every command, and `python3 dev.py shell` gives the shell in which
the README's CLI block works as written (`linkolis catalog` first)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def dev(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_dev_py_without_a_command_shows_the_usage_with_all_three_commands():
    result = dev()
    assert result.returncode == 2
    for command in ("demo", "test", "shell"):
        assert f"python3 dev.py {command}" in result.stderr


@pytest.mark.no_store
@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(), reason="runs in the .venv that dev.py made"
)
def test_the_readmes_first_cli_line_works_in_dev_py_shell(home):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "LINKOLIS_LOAD_PLUGINS")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env["SHELL"] = "/bin/sh"

    result = dev("shell", "-c", 'echo "$VIRTUAL_ENV"; command -v linkolis; linkolis catalog --json', env=env)

    assert result.returncode == 0, result.stderr
    venv, linkolis, *catalog = result.stdout.splitlines()
    assert Path(venv) == ROOT / ".venv"
    assert Path(linkolis).parent.parent == ROOT / ".venv"
    assert {app["kind"] for app in json.loads("\n".join(catalog))} >= {"amazon", "bol"}


def test_the_readmes_cli_block_says_to_open_the_dev_shell_first():
    start = README.find("```sh\nlinkolis catalog")
    assert start > 0, "the README has a CLI block starting with `linkolis catalog`"
    before = README[:start].rstrip().rsplit("\n\n", 1)[-1]  # the paragraph that introduces the block
    assert "python3 dev.py shell" in before
    assert ". .venv/bin/activate" in before
