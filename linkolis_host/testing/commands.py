"""A plugin's own command lines in its tests (its simulator's ``python -m ...``): what ``--help`` says, and what the
command prints as it starts, read while it runs."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator

# The line the Amazon and bol simulators end their printout with, once they serve.
SERVING = "Ctrl-C stops it."


def help_text(module: str) -> str:
    """What ``python -m <module> --help`` prints; the test fails when it does not exit 0."""
    result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"python -m {module} --help exited {result.returncode}: {result.stderr}"
    return result.stdout


@contextmanager
def printout(module: str, *args: str, until: str = SERVING) -> Iterator[list[str]]:
    """Start ``python -m <module> <args>`` and give its printout's lines up to the one that starts with ``until``
    (included), while it goes on running, so that the test can use what it serves; it is stopped on leaving.

    The test fails when the command ends before printing ``until`` (with what it wrote on stderr).
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = []
        for line in proc.stdout or ():
            lines.append(line.rstrip("\n"))
            if line.startswith(until):
                break
        else:
            proc.wait(timeout=10)
            stderr = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"python -m {module} ended ({proc.returncode}) before printing {until!r}: {stderr}")
        yield lines
    finally:
        proc.terminate()
        proc.wait(timeout=10)
