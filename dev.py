#!/usr/bin/env python3
"""The quick start's two commands, on a fresh machine with only Python 3.11+.

    python3 dev.py demo    # the seller's whole story against the local Amazon and bol simulators
    python3 dev.py test    # the whole test suite in parallel, with no network but loopback (on SQLite, and on a
                           # throwaway PostgreSQL server too where the machine has one)
    python3 dev.py shell   # a shell with .venv active, where `linkolis catalog` and the README's CLI block work

All create `.venv` on first use and install the host and the plugins into it (editable), again whenever a
pyproject.toml changes. Anything after the command is passed on: to pytest (`python3 dev.py test -k stock`,
`-n 0` to run in one process) or to the shell (`python3 dev.py shell -c "linkolis catalog"`).
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


def activated() -> dict[str, str]:
    """The environment `. .venv/bin/activate` would give: .venv's scripts first on PATH, VIRTUAL_ENV set."""
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = os.pathsep.join([str(_bin("python").parent), env.get("PATH", "")])
    return env


def shell(rest: list[str]) -> int:
    """Your shell with .venv active (`exit` leaves it); with arguments, the shell runs them (`-c "linkolis …"`)."""
    if os.name == "nt":
        program = os.environ.get("COMSPEC", "cmd.exe")
        activate = r".venv\Scripts\activate"
    else:
        program = os.environ.get("SHELL") or "/bin/sh"
        activate = ". .venv/bin/activate"
    if not rest:
        print(
            f"A shell with .venv active: `linkolis --help` and the README's CLI block work here; `exit` leaves it.\n"
            f"(In a shell of your own, `{activate}` does the same.)",
            file=sys.stderr,
        )
    try:
        if os.name == "nt":
            return subprocess.call([program, *rest], env=activated())
        os.execvpe(program, [program, *rest], activated())  # the shell takes this process's place (and its Ctrl-C)
    except OSError as exc:
        print(f"cannot start the shell {program}: {exc.strerror}; run `{activate}` in yours instead", file=sys.stderr)
        return 1


COMMANDS = ("demo", "test", "shell")


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        print("linkolis needs Python 3.11 or newer", file=sys.stderr)
        return 2
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_env()
    if command == "demo":
        return subprocess.call([str(_bin("linkolis")), "demo", *rest])
    if command == "shell":
        return shell(rest)
    # Every test that keeps data runs on SQLite and, where the machine has PostgreSQL's server programs (CI installs
    # them), the host's own on a throwaway PostgreSQL server too (the browser tests and the plugins' on SQLite only).
    env = dict(os.environ)
    if "LINKOLIS_TEST_STORES" not in env:
        if _has_postgres():
            env["LINKOLIS_TEST_STORES"] = "sqlite,postgresql"
            # Within the suite's time on two cores: the host's own tests on both, the browsers and the plugins'
            # tests on SQLite (LINKOLIS_TEST_STORES=sqlite,postgresql set by hand runs every test on both).
            env.setdefault("LINKOLIS_TEST_BROWSER_STORES", "sqlite")
            env.setdefault("LINKOLIS_TEST_STORE_PATHS", "tests")
        else:
            print("No PostgreSQL server programs here (apt-get install postgresql): the store's tests run on SQLite "
                  "only.", file=sys.stderr)  # fmt: skip
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
            # pytest-xdist: one worker per core (on 2 cores about 85 s instead of 160 s); xdist's default --dist load
            # was as fast as worksteal and faster than loadfile. `-n 0` after the command runs in this one process.
            "-n",
            "auto",
            *rest,
        ],
        cwd=ROOT,
        env=env,
    )


def _has_postgres() -> bool:
    """Whether ``initdb`` is here: on the PATH, or in Debian's /usr/lib/postgresql/N/bin."""
    import glob
    import shutil

    return bool(shutil.which("initdb") or glob.glob("/usr/lib/postgresql/*/bin/initdb"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
