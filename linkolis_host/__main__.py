"""``python -m linkolis``: the same command as ``linkolis``."""

from .cli import cli

cli(prog_name="linkolis")
