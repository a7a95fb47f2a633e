"""An import (or a push) of one app runs once at a time, whichever process or thread starts it; a refused command
names who holds the lock; the lock goes with its holder, even killed; and the host locks through the portable
``filelock`` package, so it runs on Windows and macOS as on Linux."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from linkolis_host import locks
from linkolis_host.errors import Busy
from linkolis_host.locks import app_lock

pytestmark = pytest.mark.no_store

ROOT = Path(__file__).resolve().parents[1]

HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from linkolis_host.locks import app_lock
    with app_lock(Path(sys.argv[1]), 1, "Shop EU", sys.argv[2]):
        print("holding", flush=True)
        sys.stdin.read()
""")


@pytest.fixture
def other_process(home):
    """Another linkolis process holding a lock of app 1 (``holding(stream)``) until the test ends or kills it."""
    home.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen] = []

    def holding(stream: str) -> subprocess.Popen:
        child = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(home), stream], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        started.append(child)
        assert child.stdout.readline() == "holding\n"
        return child

    yield holding
    for child in started:
        if child.poll() is None:
            child.communicate("", timeout=30)


def test_an_import_another_process_runs_is_refused_naming_its_pid(home, other_process):
    holder = other_process("import")

    with pytest.raises(Busy) as refused:
        with app_lock(home, 1, "Shop EU", "import"):
            pass

    assert str(refused.value) == f"another import of 'Shop EU' is running (pid {holder.pid}); try again when it ends"
    with app_lock(home, 1, "Shop EU", "push"):  # a push has a lock of its own
        assert locks.holders(home) == [f"pid {holder.pid}, import of 'Shop EU'"]


def test_a_lock_is_free_again_when_its_holder_ends_or_is_killed(home, other_process):
    other_process("import").communicate("", timeout=30)
    with app_lock(home, 1, "Shop EU", "import"):
        pass

    killed = other_process("import")
    killed.send_signal(signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)  # the operator's kill -9
    killed.wait(timeout=30)

    assert locks.holders(home) == []  # whatever note it left names nobody
    with app_lock(home, 1, "Shop EU", "import"):
        assert locks.holders(home) == []  # our own lock is not "another process"


def test_two_threads_of_one_process_never_hold_one_apps_lock_at_once(home):
    home.mkdir()
    inside = threading.Event()
    leave = threading.Event()
    refused: list[str] = []

    def first():
        with app_lock(home, 1, "Shop EU", "import"):
            inside.set()
            leave.wait(30)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(30)
        try:
            with app_lock(home, 1, "Shop EU", "import"):
                pass
        except Busy as exc:
            refused.append(str(exc))
    finally:
        leave.set()
        thread.join(30)

    assert refused == [f"another import of 'Shop EU' is running (pid {os.getpid()}); try again when it ends"]
    with app_lock(home, 1, "Shop EU", "import"):  # released when the first thread left
        pass


def test_the_holders_note_goes_with_the_lock(home):
    home.mkdir()
    note = home / "locks" / "app-1-import.holder"
    with app_lock(home, 1, "Shop EU", "import"):
        assert note.read_text() == f"pid {os.getpid()}\nimport of 'Shop EU'\n"
    assert not note.exists()


POSIX_ONLY = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix"}


def test_the_host_and_its_plugins_import_no_posix_only_module():
    sources = [*(ROOT / "linkolis_host").rglob("*.py"), *(ROOT / "plugins").glob("**/linkolis_*/**/*.py")]
    found = []
    for path in (p for p in sources if not p.parent.name.endswith("_models")):  # generated from the API models
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            found += [f"{path.relative_to(ROOT)}: {name}" for name in names if name.split(".")[0] in POSIX_ONLY]
    assert found == []
