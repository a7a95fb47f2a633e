"""Corner Shop: a third marketplace, as small as one can be (an API key, one orders endpoint, one stock endpoint),
written with the kits' public names only: ``plugin.py`` on ``linkolis_host``, ``simulator.py`` on
``linkolis_host.testing.simulator``, and ``tests/test_corner_shop.py`` on the pytest fixtures and the conformance
kit. docs/plugin-hooks.md counts its lines: what a new marketplace costs to reach the conformance kit's green."""
