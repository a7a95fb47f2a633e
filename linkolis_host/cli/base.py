"""What every command shares: `-v`, help with examples, the host, printing, and the host's errors as clear
messages."""

from __future__ import annotations

import functools
import json
import logging
import os
import shlex
import signal
import sys
import threading
from typing import Any, Callable

import click
from click.shell_completion import CompletionItem

from .. import apps, config, installed, logs, store, workspaces
from ..context import REDACTOR
from ..errors import LinkolisError
from ..host import Host
from ..plugins import check_enabled
from ..progress import message_line
from ..tables import colour_on
from ..terminal import safe, safe_json
from . import advice
from .examples import EXAMPLES

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
VERBOSE_META = "linkolis.verbose"


# The loggers of the libraries a long-running command drives: with --log-format json, their lines are JSON too.
LIBRARIES = ("procrastinate", "psycopg", "uvicorn", "py.warnings")


def _log_handler(ctx: click.Context) -> logging.Handler:
    """The command's one handler on stderr for the ``linkolis`` logger, made on first use and removed when the
    command ends (a process that runs several commands, tests and the demo, must not pile them up)."""
    root = ctx.find_root()
    handler = root.meta.get(VERBOSE_META)
    if handler is None:
        handler = root.meta[VERBOSE_META] = LogHandler()
        handler.addFilter(REDACTOR)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("linkolis")
        logger.addHandler(handler)
        level = logger.level

        def done() -> None:
            logger.removeHandler(handler)
            logger.setLevel(level)

        root.call_on_close(done)
    return handler


def verbose_callback(ctx: click.Context, _param: click.Parameter, count: int) -> int:
    """``-v`` before or after the subcommand: log on stderr through one handler, at the most verbose level asked."""
    if not count:
        return count
    _log_handler(ctx)
    logger = logging.getLogger("linkolis")
    level = logging.DEBUG if count > 1 else logging.INFO
    logger.setLevel(min(level, logger.level or logging.WARNING))
    return count


def log_format_callback(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """``--log-format json``: every line on stderr one JSON object (``logs.JsonLines``): the log at INFO (``-v``
    lowers it), what the command says on stderr, and its libraries' warnings."""
    if value != "json":
        return value
    root = ctx.find_root()
    logs.set_json_lines(True)  # for the command's threads too (a sync's workers report), which see no click context
    logging.captureWarnings(True)  # a library's warning a JSON line too (py.warnings), not a bare one
    root.call_on_close(_json_lines_end)
    handler = _log_handler(ctx)
    handler.setFormatter(logs.JsonLines(REDACTOR.redact))
    logger = logging.getLogger("linkolis")
    logger.setLevel(min(logging.INFO, logger.level or logging.INFO))
    for name in LIBRARIES:
        library = logging.getLogger(name)
        library.addHandler(handler)
        library.setLevel(logging.WARNING)
        library.propagate = False
        root.call_on_close(lambda library=library: library.removeHandler(handler))
    return value


def json_logs() -> bool:
    """Whether the command running logs JSON lines (``--log-format json``)."""
    return logs.json_lines()


def _json_lines_end() -> None:
    logs.set_json_lines(False)
    logging.captureWarnings(False)


class LogHandler(logging.StreamHandler):
    """Log lines on stderr, each on a line of its own (never inside a progress bar being drawn)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # the stderr of the command running now (CliRunner swaps it)
        with message_line():
            super().emit(record)


def verbose_option() -> click.Option:
    return click.Option(
        ["-v", "--verbose"],
        count=True,
        expose_value=False,
        callback=verbose_callback,
        help="Log what happens on stderr (-vv: every HTTP call). Secrets are always redacted.",
    )


class HelpMixin:
    """A summary in the command list is the whole first sentence (click cuts it at the width, with "..."), and a
    command's help ends with its examples (``EXAMPLES``, shown as written thanks to click's ``\\b``)."""

    def get_short_help_str(self, limit: int = 45) -> str:
        return super().get_short_help_str(limit=10_000)  # type: ignore[misc]

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)  # type: ignore[misc]
        lines = EXAMPLES.get(ctx.command_path.partition(" ")[2] or "")
        if lines:
            with formatter.section("Examples"):
                formatter.write_text("\b\n" + "\n".join(lines))


class LinkolisCommand(HelpMixin, click.Command):
    """A leaf command: its examples in --help, and ``-v`` accepted after it (``linkolis sync -v``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any("--verbose" in p.opts for p in self.params):
            self.params.append(verbose_option())


class LinkolisGroup(HelpMixin, click.Group):
    """Turns the host's errors into clear messages with a non-zero exit."""

    command_class = LinkolisCommand
    group_class = type  # subgroups are LinkolisGroups too

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any("--verbose" in p.opts for p in self.params):  # the root has its own
            self.params.append(verbose_option())

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return self._invoke(ctx)
        except click.ClickException as exc:
            if not json_logs():
                raise
            # --log-format json: the error is a line of the log too, never click's bare "Error: …"
            logging.getLogger("linkolis.cli").error("%s", exc.format_message())
            raise click.exceptions.Exit(exc.exit_code) from None

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LinkolisError as exc:
            host = ctx.find_root().obj
            raise click.ClickException(safe(advice.explain(host if isinstance(host, Host) else None, exc))) from None
        except store.ERRORS as exc:  # the database file went bad or read-only, or its server went, after it was opened
            host = ctx.find_root().obj
            error = store.explain(exc, host.db_path if isinstance(host, Host) else None)
            if error is None:
                raise
            raise click.ClickException(str(error)) from None


WORKSPACE_META = "linkolis.workspace"
COMPLETE_VAR = "_LINKOLIS_COMPLETE"  # click's: `eval "$(_LINKOLIS_COMPLETE=bash_source linkolis)"` in ~/.bashrc


def complete_app_names(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion for an app's name: the installed apps in the data directory ($LINKOLIS_HOME)."""
    root = ctx.find_root()
    try:
        if isinstance(root.obj, Host):
            names = [a.name for a in installed.list_apps(root.obj, every_workspace=True)]
        else:
            home = config.home_dir()
            if not home.is_dir() or (
                not (home / store.DB_FILE).is_file() and not config.database_url(config.load_config(home), os.environ)
            ):
                return []  # no data directory yet (and no PostgreSQL database): none, and none made
            host = Host(say=lambda _: None)
            try:
                names = [a.name for a in installed.list_apps(host, every_workspace=True)]
            finally:
                host.close()
    except Exception:  # a tab press must never print a traceback into the seller's shell
        return []
    typed = incomplete.casefold()
    # bash puts a completion on the line as it is: "Amazon DE" would become two words, so it gets it quoted (zsh
    # and fish quote what they insert themselves).
    quote = shlex.quote if os.environ.get(COMPLETE_VAR, "").startswith("bash") else str
    return [CompletionItem(quote(n)) for n in sorted(set(names)) if n.casefold().startswith(typed)]


def get_host(ctx: click.Context) -> Host:
    root = ctx.find_root()
    if root.obj is None:
        host = Host(say=lambda message: echo(message, err=True))  # its errors become messages in LinkolisGroup
        root.obj = host
        root.call_on_close(host.close)
        # Every command, not only those that load plugins, refuses a plugin enabled but not installed.
        check_enabled(host.config.plugins.enabled)
    host = root.obj
    # Every command acts for the workspace it was given, or none chosen (a host reused across commands, as in
    # tests and the demo, must not keep an earlier command's).
    name = root.meta.get(WORKSPACE_META)
    host.workspace_id = workspaces.get_workspace(host, name).id if name else None
    return host


def with_host(func: Callable) -> Callable:
    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        return ctx.invoke(func, get_host(ctx), *args, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def stops_on_sigterm(func: Callable) -> Callable:
    """A command that talks to marketplaces ends on SIGTERM (``kill``, a service manager stopping it) as on Ctrl-C:
    what it was doing is given up cleanly (a quota token it waited for goes back, a page being stored is rolled
    back) and it says "Aborted!", where Python's default would end the process on the spot."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return func(*args, **kwargs)  # signals reach the main thread only
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            return func(*args, **kwargs)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)

    return wrapper


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON only, on stdout.")


def echo(message: Any = "", err: bool = False, **kwargs: Any) -> None:
    """``click.echo`` for every line the CLI prints: what a marketplace, a redirect or a seller typed may carry
    control or bidi characters, which are shown as escapes instead of driving the terminal. A line on stderr
    never lands inside a progress bar or countdown being drawn there."""
    text = safe(message) if isinstance(message, str) else message
    if err and json_logs():  # a line of the log pipeline's, as JSON, never a bare line among them
        logging.getLogger("linkolis.cli").info("%s", message)
        return
    if err:
        with message_line():
            click.echo(text, err=True, **kwargs)
    else:
        click.echo(text, **kwargs)


def secho(message: str, err: bool = False, **kwargs: Any) -> None:
    """A coloured line: colour only on a terminal, never with NO_COLOR or --no-color."""
    colour = colour_on(sys.stderr if err else sys.stdout)
    text = click.style(safe(message), **kwargs) if colour else safe(message)  # escaped first, then coloured
    with message_line():
        click.echo(text, err=err, color=colour)


def emit(data: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    if as_json:
        echo(safe_json(json.dumps(data, indent=2, default=str, ensure_ascii=False)))
    else:
        human(data)


STATUS_STYLES = {
    "verified": "green",
    "authorized": "green",
    "installed": "yellow",
    "needs attention": "red",
    "accepted": "green",
    "in sync": "green",
    "pending": "yellow",
    "due": "yellow",
    "sending": "yellow",
    "waiting": "yellow",
    "idle": "green",
    "stalled": "red",
    "running": "cyan",
    "rejected": "red",
    "refused": "red",
    "drift": "red",
    "failed": "red",
    "skipped": "dim",
}
YES_NO = {"yes": "green", "no": "dim"}


def stdin_is_terminal() -> bool:
    """Whether a person may be asked (a prompt) rather than stdin read. Commands call it as
    ``base.stdin_is_terminal()``, so a test stands in for a terminal in this one place."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def authorized_apps(host: Host, names: tuple[str, ...]) -> list[apps.App]:
    if names:
        return [apps.get(host, n) for n in names]
    found = [a for a in apps.list_apps(host) if a.authorized]
    if not found:
        raise click.ClickException("no authorized app: run `linkolis apps authorize NAME` first")
    return found


metrics_port_option = click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    metavar="PORT",
    help="Serve Prometheus metrics on http://127.0.0.1:PORT/metrics (this process's units and marketplace calls, "
    "and the store's gauges); loopback only, as it asks no token.",
)
