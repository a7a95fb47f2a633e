"""What a plugin author tests with: the conformance kit (``conformance``), the pytest fixtures (``fixtures``, a
``pytest11`` plugin) and the simulator kit (``simulator``). Nothing here is on a runtime path: the host and the
plugins never import it (``tests/test_architecture.py``).
"""

from __future__ import annotations

from .conformance import (
    COMMAND_TEXT,
    REQUIRED_HOOKS,
    assert_conformance,
    check_plugin,
    check_settings,
    check_words,
    default_host,
    own_words,
)
from .fixtures import START, Run, assert_no_problems, each_test_at_home

__all__ = [
    "COMMAND_TEXT",
    "REQUIRED_HOOKS",
    "START",
    "Run",
    "assert_conformance",
    "assert_no_problems",
    "check_plugin",
    "each_test_at_home",
    "check_settings",
    "check_words",
    "default_host",
    "own_words",
]
