"""The web app the seller uses (`linkolis serve`): Starlette handlers as thin as the CLI's commands."""

from .app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
