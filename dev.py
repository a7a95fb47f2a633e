#!/usr/bin/env python3
"""The quick start's two commands, on a fresh machine with only Python 3.11+.

    python3 dev.py demo    # the seller's whole story against the local Amazon simulator
    python3 dev.py test    # the whole test suite, with no network but loopback

Both create `.venv` on first use and install the host and the plugins into it (editable), again whenever a
pyproject.toml changes. Anything after the command is passed on (`python3 dev.py test -k stock`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PROJECTS = [
    ROOT / "pyproject.toml",
    ROOT / "plugins" / "amazon" / "pyproject.toml",
    ROOT / "plugins" / "contrib" / "bol" / "pyproject.toml",
]
STAMP = VENV / ".linkolis-installed"


def _bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_env() -> None:
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in PROJECTS)).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest and _bin("linkolis").exists():
        return
    if not _bin("python").exists():
        print("Creating .venv …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing linkolis-host and its plugins into .venv …", file=sys.stderr)
    subprocess.run(
        [
            str(_bin("python")),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            f"{ROOT}[test]",
            "-e",
            str(ROOT / "plugins" / "amazon"),
            "-e",
            str(ROOT / "plugins" / "contrib" / "bol"),
        ],
        check=True,
    )
    STAMP.write_text(digest)


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        print("linkolis needs Python 3.11 or newer", file=sys.stderr)
        return 2
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_env()
    if command == "demo":
        return subprocess.call([str(_bin("linkolis")), "demo", *rest])
    # Cassettes replay only; every connection but loopback (simulators, the OAuth receiver) is refused.
    return subprocess.call(
        [
            str(_bin("python")),
            "-m",
            "pytest",
            "-q",
            "--record-mode=none",
            "--block-network",
            "--allowed-hosts=127.0.0.1,localhost",
            *rest,
        ],
        cwd=ROOT,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
