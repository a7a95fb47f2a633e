"""What a plugin author tests with: the conformance kit (``conformance``), the pytest fixtures (``fixtures``, a
``pytest11`` plugin) and the simulator kit (``simulator``). Nothing here is on a runtime path: the host and the
plugins never import it (``tests/test_architecture.py``).
"""

from __future__ import annotations

import importlib
from typing import Any

# Read on first use (PEP 562), so that a simulator built on ``testing.simulator`` runs (``linkolis demo``) where
# pytest is not installed: only the fixtures need it.
_HOME = {
    "COMMAND_TEXT": "conformance",
    "REQUIRED_HOOKS": "conformance",
    "assert_conformance": "conformance",
    "check_plugin": "conformance",
    "check_settings": "conformance",
    "check_words": "conformance",
    "default_host": "conformance",
    "own_words": "conformance",
    "START": "fixtures",
    "Run": "fixtures",
    "assert_no_problems": "fixtures",
    "each_test_at_home": "fixtures",
    "open_store": "fixtures",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)


__all__ = [
    "COMMAND_TEXT",
    "REQUIRED_HOOKS",
    "START",
    "Run",
    "assert_conformance",
    "assert_no_problems",
    "check_plugin",
    "each_test_at_home",
    "open_store",
    "check_settings",
    "check_words",
    "default_host",
    "own_words",
]
