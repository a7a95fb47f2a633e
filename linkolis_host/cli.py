"""The ``linkolis`` command. Thin: parse, call ``apps``/``sync``, print.

Human text by default; ``--json`` prints only JSON on stdout. Progress and warnings go to stderr. Whatever a
user can cause ends in a clear message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import signal
import sqlite3
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import click
from click.shell_completion import CompletionItem

from . import apps, config, installed, oauth, orders, scheduler, shipments, stock, store, sync, workspaces
from .apps import BANNER, FieldSpec, fields_of
from .context import REDACTOR
from .errors import LinkolisError
from .host import Host
from .http import duration_text
from .plugins import check_enabled, installed_plugins
from .progress import StderrProgress, message_line
from .tables import colour_on, column, money, print_table, value, when
from .terminal import article, plural, safe, safe_json
from .version import __version__

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
VERBOSE_META = "linkolis.verbose"

# Each command's --help ends with these, as written (click's \b keeps the lines). Keyed by the command path after
# `linkolis`; tests/test_cli_output.py checks that every command has some.
EXAMPLES: dict[str, list[str]] = {
    "": ["linkolis catalog", "linkolis apps install amazon --marketplace DE", "linkolis sync --watch"],
    "plugins": ["linkolis plugins", "linkolis plugins --json"],
    "plugins list": ["linkolis plugins list", "linkolis plugins list --json | jq '.[].id'"],
    "catalog": ["linkolis catalog", "linkolis catalog --json | jq '.[].kind'"],
    "apps": ["linkolis apps list", "linkolis apps install amazon --marketplace DE"],
    "apps list": [
        "linkolis apps list",
        "linkolis apps list | cut -f1,3        # piped: name and status, tab-separated",
    ],
    "apps show": ["linkolis apps show 'Amazon DE'", "linkolis apps show 'Amazon DE' --json"],
    "apps install": ["linkolis apps install amazon --marketplace DE --name 'Amazon DE'", "linkolis apps install bol"],
    "apps configure": [
        "linkolis apps configure 'Amazon DE' --stock-sync",
        "linkolis apps configure 'Amazon DE' --name 'Amazon Germany'",
        "linkolis apps configure 'Amazon DE' --help    # the options of that app's kind",
    ],
    "apps remove": ["linkolis apps remove 'Amazon DE'", "linkolis apps remove 'Amazon DE' --purge --yes"],
    "apps authorize": [
        "linkolis apps authorize 'Amazon DE'",
        "linkolis apps authorize 'Amazon DE' --no-browser",
        "linkolis apps authorize bol --credential client_id=ID --credential client_secret=-",
    ],
    "apps verify": ["linkolis apps verify 'Amazon DE'", "linkolis apps verify 'Amazon DE' --json | jq .ok"],
    "orders": ["linkolis orders import", "linkolis orders list --status unshipped"],
    "orders import": ["linkolis orders import", "linkolis orders import 'Amazon DE' --json"],
    "orders list": [
        "linkolis orders list --status unshipped",
        "linkolis orders list --app 'Amazon DE' --limit 20 --offset 20",
        "linkolis orders list --search 302-",
    ],
    "orders show": ["linkolis orders show 302-4914762-2060784", "linkolis orders show 302-4914762-2060784 --json"],
    "orders ship": [
        "linkolis orders ship 302-4914762-2060784 --carrier DHL --tracking 00340434161094042557",
        "linkolis orders ship 302-4914762-2060784 --carrier DPD --tracking 0123 --line MUG-RED=1",
    ],
    "stock": ["linkolis stock set MUG-RED 12", "linkolis stock push"],
    "stock set": ["linkolis stock set MUG-RED 12", "linkolis stock set 'MUG 350ml/BLUE' 0"],
    "stock load": ["linkolis stock load stock.csv", "my-erp export | linkolis stock load -"],
    "stock push": ["linkolis stock push --dry-run", "linkolis stock push 'Amazon DE'"],
    "stock list": ["linkolis stock list", "linkolis stock list --app 'Amazon DE' --json"],
    "stock verify": ["linkolis stock verify", "linkolis stock verify 'Amazon DE' --json"],
    "stock map": ["linkolis stock map MUG-RED --app bol --reference 8712345678906"],
    "stock unmap": ["linkolis stock unmap MUG-RED --app bol"],
    "sync": ["linkolis sync", "linkolis sync --watch --interval 300", "linkolis sync status"],
    "demo": ["linkolis demo", "linkolis demo --web --port 8080"],
    "workspaces": ["linkolis workspaces add 'Shop One'", "linkolis workspaces list"],
    "workspaces add": ["linkolis workspaces add 'Shop One'"],
    "workspaces list": ["linkolis workspaces list", "linkolis workspaces list --json"],
    "users": ["linkolis users add ann@example.com --workspace 'Shop One'", "linkolis users list"],
    "users add": [
        "linkolis users add ann@example.com --workspace 'Shop One'",
        "printf '%s\\n' \"$PASSWORD\" | linkolis users add ann@example.com --password-stdin",
    ],
    "users list": ["linkolis users list", "linkolis users list --workspace 'Shop One' --json"],
    "users remove": ["linkolis users remove ann@example.com"],
    "serve": [
        "linkolis serve --base-url https://linkolis.example.com",
        "linkolis serve --certfile cert.pem --keyfile key.pem --host 0.0.0.0 --port 8443",
    ],
    "shipments": ["linkolis shipments list --status due", "linkolis shipments push"],
    "shipments load": ["linkolis shipments load shipped.csv"],
    "shipments list": ["linkolis shipments list", "linkolis shipments list --app bol --status rejected"],
    "shipments push": ["linkolis shipments push", "linkolis shipments push bol --json"],
}


def _verbose(ctx: click.Context, _param: click.Parameter, count: int) -> int:
    """``-v`` before or after the subcommand: log on stderr through one handler, at the most verbose level asked."""
    if not count:
        return count
    root = ctx.find_root()
    handler = root.meta.get(VERBOSE_META)
    logger = logging.getLogger("linkolis")
    level = logging.DEBUG if count > 1 else logging.INFO
    if handler is None:
        logger.setLevel(level)
        handler = LogHandler()
        handler.addFilter(REDACTOR)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        root.meta[VERBOSE_META] = handler
        # One command, one handler: a process that runs several commands (tests, the demo) must not pile them up
        # on streams that are gone.
        root.call_on_close(lambda: logger.removeHandler(handler))
    logger.setLevel(min(level, logger.level))
    return count


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
        callback=_verbose,
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
            return super().invoke(ctx)
        except LinkolisError as exc:
            raise click.ClickException(safe(str(exc))) from None
        except sqlite3.DatabaseError as exc:  # the database file went bad, or read-only, after it was opened
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
            if not (config.home_dir() / store.DB_FILE).is_file():  # no data directory yet: none, and none made
                return []
            host = Host(say=lambda _: None)
            try:
                names = [a.name for a in installed.list_apps(host, every_workspace=True)]
            finally:
                host.close()
    except Exception:  # noqa: BLE001 - a tab press must never print a traceback into the seller's shell
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


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON only, on stdout.")


def echo(message: Any = "", err: bool = False, **kwargs: Any) -> None:
    """``click.echo`` for every line the CLI prints: what a marketplace, a redirect or a seller typed may carry
    control or bidi characters, which are shown as escapes instead of driving the terminal. A line on stderr
    never lands inside a progress bar or countdown being drawn there."""
    text = safe(message) if isinstance(message, str) else message
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


@click.group("linkolis", cls=LinkolisGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="linkolis")
@click.option(
    "-v",
    "--verbose",
    count=True,
    expose_value=False,
    callback=_verbose,
    help="Log what happens on stderr (-vv: every HTTP call); also after the command. Secrets are always redacted.",
)
@click.option(
    "--no-color",
    "no_color",
    is_flag=True,
    help="No colour (nor with NO_COLOR set, nor when the output is not a terminal).",
)
@click.option(
    "--workspace",
    "workspace",
    metavar="NAME",
    envvar="LINKOLIS_WORKSPACE",
    help="The workspace (seller business) to act on [env: LINKOLIS_WORKSPACE; default: the only one]. "
    "`sync` without it serves every workspace.",
)
def cli(workspace: str | None, no_color: bool) -> None:
    """Connect marketplaces as apps, import their orders, and keep their stock in sync.

    The seller's story: `linkolis catalog`, `linkolis apps install KIND`, `linkolis apps authorize NAME`,
    `linkolis apps verify NAME`, then `linkolis sync`. Data lives in $LINKOLIS_HOME (see `linkolis plugins`).

    On a terminal, lists are tables; piped, they are tab-separated lines (LINKOLIS_TERMINAL=1 or 0 forces
    either). Shell completion: see the README (`_LINKOLIS_COMPLETE=bash_source linkolis`).
    """
    ctx = click.get_current_context()
    ctx.meta[WORKSPACE_META] = workspace
    if no_color:
        ctx.color = False  # every echo and table under this context drops colour


# -- plugins and catalog ---------------------------------------------------------------------------------------


def _plugins(host: Host) -> list[dict[str, Any]]:
    enabled = {host.registry.pm.get_name(p) for p in host.registry.pm.get_plugins()}
    rows = []
    for plugin_id, copies in sorted(installed_plugins().items()):
        for copy in copies:
            rows.append(
                {"id": plugin_id, "package": copy.package, "version": copy.version, "enabled": plugin_id in enabled}
            )
    return rows


@cli.group(cls=LinkolisGroup, invoke_without_command=True, context_settings=CONTEXT)
@json_option
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """The installed plugins and whether they are enabled (same as `plugins list`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(plugins_list, as_json=as_json)


@plugins.command("list")
@json_option
@with_host
def plugins_list(host: Host, as_json: bool) -> None:
    """The installed plugins: id, package, version, enabled."""

    def human(rows: list[dict]) -> None:
        if not rows:
            echo("No plugins installed.")
        else:
            print_table(
                [column("id"), column("package"), column("version"), column("enabled", styles=YES_NO)],
                [[r["id"], r["package"], r["version"], r["enabled"]] for r in rows],
            )
        echo(f"Data directory: {host.home}", err=True)

    emit(_plugins(host), as_json, human)


@cli.command(context_settings=CONTEXT)
@json_option
@with_host
def catalog(host: Host, as_json: bool) -> None:
    """All applications: the app kinds you can install, with their fields."""

    def human(entries: list[dict]) -> None:
        if not entries:
            echo("No app can be installed: enable a plugin (see `linkolis plugins`).")
            return

        def fields(e: dict) -> str:
            return "; ".join(
                f["title"]
                + (f" ({', '.join(f['choices'][:8])}{', …' if len(f['choices']) > 8 else ''})" if f["choices"] else "")
                + ("" if f["default"] is None else f" [default: {value(f['default'])}]")
                for f in e["fields"]
            )

        print_table(
            [column("kind"), column("app"), column("description", wrap=True), column("fields", wrap=True)],
            [[e["kind"], e["title"], e["description"], fields(e)] for e in entries],
        )
        echo("Install one with `linkolis apps install KIND` (`--help` after KIND lists its options).", err=True)

    emit(apps.catalog(host), as_json, human)


# -- apps ------------------------------------------------------------------------------------------------------


@cli.group(cls=LinkolisGroup, context_settings=CONTEXT)
def apps_group() -> None:
    """My applications: install, configure, authorize, verify and remove apps."""


cli.add_command(apps_group, "apps")


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
    "running": "cyan",
    "rejected": "red",
    "refused": "red",
    "drift": "red",
    "failed": "red",
    "skipped": "dim",
}
YES_NO = {"yes": "green", "no": "dim"}


def _app_row(view: dict[str, Any]) -> list[Any]:
    settings = {k: v for k, v in view["settings"].items() if k != "name"}
    return [
        view["name"],
        view["kind"],
        view["status"],
        settings,
        when(view["last_import_at"]),
        when(view["last_push_at"]),
    ]


@apps_group.command("list")
@json_option
@with_host
def apps_list(host: Host, as_json: bool) -> None:
    """My applications: name, kind, settings, status, last import and last push."""
    rows = apps.list_apps(host)

    def human(_: Any) -> None:
        if not rows:
            echo("No apps installed. See `linkolis catalog`, then `linkolis apps install KIND`.")
            return
        print_table(
            [
                column("name"),
                column("kind"),
                column("status", styles=STATUS_STYLES),
                column("settings", wrap=True),
                column("last import"),
                column("last push"),
            ],
            [_app_row(apps.public_view(host, r)) for r in rows],
        )

    emit([apps.public_view(host, r) for r in rows], as_json, human)


@apps_group.command("show")
@click.argument("name", shell_complete=complete_app_names)
@json_option
@with_host
def apps_show(host: Host, name: str, as_json: bool) -> None:
    """One app in full (credentials are never shown, only whether they are stored)."""
    view = apps.public_view(host, apps.get(host, name))

    def human(v: dict) -> None:
        for key, item in v.items():
            if key == "notices":
                continue
            if key == "credentials" and isinstance(item, dict):
                item = f"stored ({', '.join(item.get('fields') or [])})" if item.get("stored") else "none"
            elif key.endswith("_at"):
                item = when(item)
            echo(f"{key.replace('_', ' '):<26} {value(item)}")
        for notice in v["notices"]:
            echo(f"{'notice':<26} {notice}")

    emit(view, as_json, human)


class AnyCaseChoice(click.Choice):
    """A choice typed in any case, shown and refused in the plugin's own spelling ("DE", not "de")."""

    def __init__(self, choices: list[str]) -> None:
        super().__init__(choices, case_sensitive=False)

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        return f"{value!r} is not one of {', '.join(map(str, self.choices))}."

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return f"[{'|'.join(map(str, self.choices))}]"


def _field_option(spec: FieldSpec, with_defaults: bool) -> click.Option:
    flag = "--" + spec.name.replace("_", "-")
    help_text = spec.help + (f" [default: {spec.default}]" if with_defaults and spec.default is not None else "")
    if spec.type == "bool":
        return click.Option([f"{flag}/--no-{spec.name.replace('_', '-')}", spec.name], default=None, help=help_text)
    click_type: Any = {"int": int, "float": float}.get(spec.type, str)
    if spec.choices:
        click_type = AnyCaseChoice(spec.choices)
    return click.Option(
        [flag, spec.name],
        type=click_type,
        default=None,
        help=help_text,
        metavar=None if spec.choices else spec.type.upper(),
    )


def _normalize(spec: FieldSpec, value: Any) -> Any:
    if spec.choices and isinstance(value, str):
        return next((c for c in spec.choices if c.lower() == value.lower()), value)
    return value


def _collect(specs: list[FieldSpec], params: dict[str, Any], prompt_missing: bool) -> dict[str, Any]:
    values = {}
    for spec in specs:
        value = params.get(spec.name)
        if value is None and spec.required:
            if not prompt_missing:
                choices = f", one of: {', '.join(spec.choices)}" if spec.choices else ""
                raise click.UsageError(f"missing --{spec.name.replace('_', '-')} ({spec.title}{choices})")
            prompt_type: Any = AnyCaseChoice(spec.choices) if spec.choices else str
            value = click.prompt(spec.title, type=prompt_type, err=True)
        if value is not None:
            values[spec.name] = _normalize(spec, value)
    return values


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


class InstallGroup(LinkolisGroup):
    """`apps install KIND`: one subcommand per app kind, its options built from the kind's settings model."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            return sorted(get_host(ctx).registry.kinds)
        except (LinkolisError, click.ClickException):
            return []

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        host = get_host(ctx)
        kind = host.registry.kind(name)
        specs = fields_of(kind.settings)

        def run(**params: Any) -> None:
            as_json = params.pop("as_json")
            values = _collect(specs, params, prompt_missing=_stdin_is_terminal())
            row = apps.install(host, kind.kind, values)
            emit(
                apps.public_view(host, row),
                as_json,
                lambda v: echo(f"Installed {v['name']!r} ({kind.title}). Next: linkolis apps authorize {v['name']!r}"),
            )

        params = [_field_option(s, with_defaults=True) for s in specs] + [
            click.Option(["--json", "as_json"], is_flag=True, help="Print JSON only, on stdout.")
        ]
        line = " ".join(
            ["linkolis apps install", kind.kind]
            + [f"--{s.name.replace('_', '-')} {(s.choices or ['VALUE'])[0]}" for s in specs if s.required]
        )
        return LinkolisCommand(
            name,
            params=params,
            callback=run,
            context_settings=CONTEXT,
            help=f"Install {article(kind.title)} app: {kind.description}\n\n"
            "Missing required fields are asked for on a terminal.",
            epilog=f"Examples:\n\n\b\n  {line}\n  {line} --name 'My {kind.title}' --stock-sync --json",
        )


apps_group.add_command(
    InstallGroup(
        "install",
        context_settings=CONTEXT,
        help="Install an app from the catalog: `linkolis apps install KIND --help`.",
    )
)


def _configure_params(specs: list[FieldSpec]) -> list[click.Parameter]:
    return [_field_option(s, with_defaults=False) for s in specs] + [
        click.Option(["--json", "as_json"], is_flag=True, help="Print JSON only, on stdout.")
    ]


class ConfigureCommand(LinkolisCommand):
    """`apps configure NAME [OPTIONS]`: the options are the app kind's settings, so --help lists them per kind (and
    `apps configure NAME --help` those of NAME's kind)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        try:
            kinds = sorted(get_host(ctx).registry.kinds.values(), key=lambda k: k.kind)
        except (LinkolisError, click.ClickException):
            kinds = []
        for kind in kinds:
            probe = click.Command(kind.kind, params=_configure_params(fields_of(kind.settings))[:-1])
            records = [r for r in (p.get_help_record(ctx) for p in probe.params) if r]
            with formatter.section(f"Options for {article(kind.title)} app (kind {kind.kind})"):
                formatter.write_dl(records)
        super().format_epilog(ctx, formatter)


@apps_group.command(
    "configure",
    cls=ConfigureCommand,
    options_metavar="",
    context_settings={**CONTEXT, "ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
)
@click.argument("name", required=False, metavar="NAME", shell_complete=complete_app_names)
@click.argument("args", nargs=-1, type=click.UNPROCESSED, metavar="[OPTIONS]")
@click.pass_context
def apps_configure(ctx: click.Context, name: str | None, args: tuple[str, ...]) -> None:
    """Reconfigure an app (the wrench): give only the settings to change; the options depend on the app's kind.

    A change that voids the authorization (another region, say) sends the app back to needing authorization.
    `linkolis apps configure NAME --help` lists the options of NAME's kind.
    """
    if name in (None, "-h", "--help"):
        echo(ctx.get_help())
        return
    host = get_host(ctx)
    row = apps.get(host, name)
    kind = host.registry.kind(row.kind)
    specs = fields_of(kind.settings)
    command = LinkolisCommand(
        f"configure {shlex.quote(row.name)}",
        context_settings=CONTEXT,
        params=_configure_params(specs),
        help=f"Change the settings of {row.name!r} ({article(kind.title)} app); options not given stay as they are.",
        epilog=f"Example:\n\n\b\n  linkolis apps configure {shlex.quote(row.name)} --stock-sync",
    )
    # The parent is `apps`: the usage reads "linkolis apps configure 'Shop EU' [OPTIONS]".
    sub = command.make_context(command.name, list(args), parent=ctx.parent)
    as_json = sub.params.pop("as_json")
    changes = {k: _normalize(next(s for s in specs if s.name == k), v) for k, v in sub.params.items() if v is not None}
    if not changes:
        raise click.UsageError(f"nothing to change; `linkolis apps configure {name!r} --help` lists the fields")
    new_row, voided = apps.configure(host, row, changes)

    def human(v: dict) -> None:
        echo(f"Updated {v['name']!r}: " + ", ".join(f"{k}={v['settings'].get(k)}" for k in changes))
        if voided:
            echo(f"This change voids the authorization: run `linkolis apps authorize {v['name']!r}` again.")

    emit({**apps.public_view(host, new_row), "authorization_voided": voided}, as_json, human)


@apps_group.command("remove")
@click.argument("name", shell_complete=complete_app_names)
@click.option("--purge", is_flag=True, help="Also delete the app's imported orders and stock push results.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@with_host
def apps_remove(host: Host, name: str, purge: bool, yes: bool) -> None:
    """Remove an app (the bin). Its credentials are deleted at once; its orders are kept unless --purge."""
    row = apps.get(host, name)
    if not yes:
        if not _stdin_is_terminal():
            raise click.UsageError("removing an app needs --yes when not run from a terminal")
        what = " and all its imported orders" if purge else ""
        click.confirm(f"Remove {row.name!r}{what}?", abort=True, err=True)
    apps.remove(host, row, purge=purge)
    echo(
        f"Removed {row.name!r}; its credentials are deleted"
        + (" and its orders purged." if purge else ", its orders kept.")
    )


def _parse_credentials(pairs: tuple[str, ...], secret_names: set[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs; ``NAME=-`` is asked for (hidden) on a terminal, or read as one line of piped stdin.

    A secret given on the command line is in the shell's history and the process list: it is taken, with a
    warning that points to the safe form.
    """
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair.split('=')[0]!r}…", param_hint="--credential")
        if value == "-":
            if _stdin_is_terminal():
                value = click.prompt(key, hide_input=True, err=True)
            else:
                value = sys.stdin.readline().rstrip("\r\n")
                if not value:
                    raise click.BadParameter(
                        f"{key}=- reads the value from stdin, but stdin had none", param_hint="--credential"
                    )
        elif key in secret_names:
            echo(
                f"warning: --credential {key}=VALUE puts a secret on the command line (shell history, the "
                f"process list); use --credential {key}=- to be asked for it, or pipe it on stdin",
                err=True,
            )
        result[key] = value
    return result


@apps_group.command("authorize")
@click.argument("name", shell_complete=complete_app_names)
@click.option("--no-browser", is_flag=True, help="Do not open a browser; only print the URL to open.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port of the loopback receiver on 127.0.0.1 (0: any free port; unused with a base URL).",
)
@click.option(
    "--redirect-url",
    metavar="URL",
    help="Finish with the address your browser landed on (for a registered HTTPS redirect page).",
)
@click.option(
    "--credential",
    "credentials",
    multiple=True,
    metavar="NAME=VALUE",
    help="Authorize with credentials directly (a private app's refresh token, say). Give a secret as "
    "NAME=- : it is asked for, or read from stdin when piped.",
)
@click.option(
    "--timeout",
    type=click.IntRange(10, 3600),
    default=600,
    show_default=True,
    help="Seconds to wait for the browser to come back.",
)
@json_option
@with_host
def apps_authorize(
    host: Host,
    name: str,
    no_browser: bool,
    port: int,
    redirect_url: str | None,
    credentials: tuple[str, ...],
    timeout: int,
    as_json: bool,
) -> None:
    """Authorize an app at its marketplace: sign in, review the permissions, confirm.

    With a base URL configured ([web] base_url in linkolis.toml, or LINKOLIS_BASE_URL), the marketplace sends the
    browser back to <base-url>/apps/callback, served by `linkolis serve`, and this command waits until that
    callback completes the authorization (or --timeout passes). Without one, a loopback receiver on 127.0.0.1
    takes the redirect: only a development marketplace such as the simulator accepts that. With --redirect-url,
    finishes an authorization whose redirect went to another page. Re-authorizing with another account is refused.
    """
    app = apps.get(host, name)
    if credentials:
        secret = {f.name for f in host.registry.kind(app.kind).direct_credentials if f.secret}
        row = apps.authorize_direct(host, app, _parse_credentials(credentials, secret))
    elif redirect_url:
        row = apps.complete_authorization(host, app, oauth.params_from_url(redirect_url))
    else:
        row = _authorize_in_browser(host, app, no_browser, port, timeout, as_json)
    emit(
        apps.public_view(host, row),
        as_json,
        lambda v: echo(
            f"{v['name']!r} is authorized for account {v['account_id']}. Next: linkolis apps verify {v['name']!r}"
        ),
    )


LOOPBACK_NOTE = (
    "no base URL configured: using a loopback receiver, which only a development marketplace such as "
    "the simulator accepts; see docs/operations.md"
)


def _authorize_in_browser(
    host: Host, app: apps.App, no_browser: bool, port: int, timeout: int, as_json: bool
) -> apps.App:
    name = app.name

    def paste(redirect_uri: str) -> dict[str, str] | None:
        echo(
            f"After you confirm, your browser lands on {redirect_uri}. Copy that whole address and run: "
            f"linkolis apps authorize {name!r} --redirect-url 'ADDRESS'",
            err=True,
        )
        if not _stdin_is_terminal():
            return None
        return oauth.params_from_url(click.prompt("Address", err=True))

    def show(url: str) -> None:
        echo("Open this address to authorize (sign in, review the permissions, confirm):", err=True)
        echo(url, err=as_json)  # always shown; on stderr when stdout is for JSON only
        if not no_browser:
            oauth.open_browser(url)

    say = lambda m: echo(m, err=True)  # noqa: E731
    base_url = config.base_url(host.config, host.env)
    if base_url:
        row = apps.authorize_hosted(host, app, base_url=base_url, timeout=timeout, open_url=show, paste=paste, say=say)
    else:
        say(LOOPBACK_NOTE)
        row = apps.authorize_in_browser(host, app, port=port, timeout=timeout, open_url=show, paste=paste, say=say)
    if row is None:
        raise click.exceptions.Exit(0)
    return row


@apps_group.command("verify")
@click.argument("name", shell_complete=complete_app_names)
@json_option
@with_host
def apps_verify(host: Host, name: str, as_json: bool) -> None:
    """Check that the app works; all checks passing shows "Module correctly installed"."""
    row, checks, ok = apps.verify(host, apps.get(host, name))
    data = {
        "app": row.name,
        "ok": ok,
        "status": row.status_text,
        "banner": BANNER if ok else None,
        "checks": [c.model_dump() for c in checks],
    }

    def human(_: Any) -> None:
        marks = {"ok": "ok", "failed": "FAILED", "skipped": "skipped", "warning": "warning"}
        colours = {"ok": "green", "failed": "red", "warning": "yellow", "skipped": None}
        colour = colour_on(sys.stdout)
        for c in checks:
            mark = f"[{marks[c.status]:>7}]"
            if colour and colours[c.status]:
                mark = click.style(mark, fg=colours[c.status], bold=c.status == "failed" or None)
            # the mark is ours; the check's name and detail are the plugin's words, escaped
            click.echo(mark + safe(f" {c.name}" + (f": {c.detail}" if c.detail else "")), color=colour)
            if c.remedy and c.status != "ok":
                echo(f"          → {c.remedy}")
        if ok:
            secho(BANNER, fg="blue", bold=True)
        else:
            echo(f"{row.name!r} is not ready: follow the steps above, then verify again.", err=True)

    emit(data, as_json, human)
    if not ok:
        sys.exit(1)


# -- orders ----------------------------------------------------------------------------------------------------


@cli.group("orders", cls=LinkolisGroup, context_settings=CONTEXT)
def orders_group() -> None:
    """Import and look at orders."""


def _authorized_apps(host: Host, names: tuple[str, ...]) -> list[apps.App]:
    if names:
        return [apps.get(host, n) for n in names]
    found = [a for a in apps.list_apps(host) if a.authorized]
    if not found:
        raise click.ClickException("no authorized app: run `linkolis apps authorize NAME` first")
    return found


def _import_summary(r: dict[str, Any]) -> str:
    return (
        f"{r['app']}: {r['new']} new, {r['updated']} updated, {r['unchanged']} unchanged "
        f"({plural(r['batches'], 'batch')}, {r['seconds']} s)"
    )


@orders_group.command("import")
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_app_names)
@json_option
@with_host
def orders_import(host: Host, names: tuple[str, ...], as_json: bool) -> None:
    """Import new and changed orders from the named apps (default: every authorized app)."""
    progress = StderrProgress(quiet=as_json)
    results = [orders.import_orders(host, a, progress=progress) for a in _authorized_apps(host, names)]

    def human(rs: list[dict]) -> None:
        for r in rs:
            echo(_import_summary(r))

    emit(results if len(results) != 1 else results[0], as_json, lambda _: human(results))


ORDER_STYLES = {
    "unshipped": "yellow",
    "pending": "yellow",
    "shipped": "green",
    "cancelled": "dim",
    "unfulfillable": "red",
}


@orders_group.command("list")
@click.option("--app", shell_complete=complete_app_names, help="Only this app's orders.")
@click.option(
    "--status",
    type=click.Choice(["pending", "unshipped", "partially_shipped", "shipped", "cancelled", "unfulfillable", "other"]),
    help="Only orders with this status.",
)
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many (the next page: --offset 50).")
@click.option("--search", metavar="TEXT", help="Only orders whose order id (or your own order id) contains TEXT.")
@json_option
@with_host
def orders_list(
    host: Host, app: str | None, status: str | None, limit: int, offset: int, search: str | None, as_json: bool
) -> None:
    """Imported orders, newest first."""
    rows = orders.list_orders(host, app, status, limit, offset=offset, search=search)

    def human(rs: list[dict]) -> None:
        if not rs:
            echo("No orders. Run `linkolis orders import`.")
            return
        print_table(
            [
                column("order"),
                column("app"),
                column("status", styles=ORDER_STYLES),
                column("created"),
                column("total", right=True),
                column("lines", right=True),
            ],
            [
                [
                    r["marketplace_order_id"],
                    r["app"],
                    r["status"],
                    when(r["created_at"]),
                    money(r["total"], r["currency"]),
                    r["line_count"],
                ]
                for r in rs
            ],
        )

    emit(rows, as_json, human)


def _marketplace_typed(host: Host, order: dict[str, Any]) -> str:
    """The marketplace as the seller chose it for the app ("DE"), not the marketplace's id for it."""
    try:
        settings = apps.get(host, order["app"]).settings
    except LinkolisError:
        return order["marketplace"] or "-"
    return str(settings.get("marketplace") or order["marketplace"] or "-")


@orders_group.command("show")
@click.argument("order_id", metavar="ID")
@json_option
@with_host
def orders_show(host: Host, order_id: str, as_json: bool) -> None:
    """One order with its lines and status history (ID: the marketplace's order id or the host's id)."""
    order = orders.get_order(host, order_id)

    def human(o: dict) -> None:
        echo(
            f"{o['marketplace_order_id']} ({o['app']}, {_marketplace_typed(host, o)}) {o['status']} "
            f"[{o['marketplace_status']}], {o['fulfilled_by']}-fulfilled"
        )
        echo(
            f"created {when(o['created_at'])}, updated {when(o['updated_at'])}, "
            f"total {money(o['total'], o['currency'])}"
        )
        buyer, refs = o["buyer"] or {}, []
        if o["seller_order_id"]:
            refs.append(f"seller order id {o['seller_order_id']}")
        if o["original_order_id"]:
            relation = f" ({o['original_order_relation']})" if o["original_order_relation"] else ""
            refs.append(f"original order {o['original_order_id']}{relation}")
        if buyer.get("purchase_order_number"):
            refs.append(f"PO {buyer['purchase_order_number']}")
        if o["programs"]:
            refs.append(f"programs {', '.join(o['programs'])}")
        if refs:
            echo("; ".join(refs))
        for line in o["lines"]:
            extras = "".join(
                f", {name} {line[name]}"
                for name in ("tax", "shipping", "discount")
                if line[name] is not None and Decimal(line[name]) != 0
            )
            echo(
                f"  {line['quantity_ordered']} x {line['sku']} {line['title'] or ''} @ {value(line['unit_price'])}"
                f" = {value(line['subtotal'])}{extras}, total {money(line['total'], o['currency'])}"
                f" (shipped {line['quantity_shipped']})"
            )
        for h in o["history"]:
            echo(f"  status {h['marketplace_status']} at {when(h['marketplace_updated_at'])}")

    emit(order, as_json, human)


# -- stock -----------------------------------------------------------------------------------------------------


@cli.group("stock", cls=LinkolisGroup, context_settings=CONTEXT)
def stock_group() -> None:
    """Set stock levels and push them to apps with stock sync on."""


@stock_group.command("set", context_settings={**CONTEXT, "ignore_unknown_options": True})  # so -5 is a quantity
@click.argument("sku")
@click.argument("quantity")
@json_option
@with_host
def stock_set(host: Host, sku: str, quantity: str, as_json: bool) -> None:
    """Record the stock level of one SKU (pushed by the next `stock push` or `sync`)."""
    result = stock.set_stock(host, sku, quantity)
    emit(result, as_json, lambda r: echo(f"{r['sku']}: {r['quantity']}"))


@stock_group.command("load")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@json_option
@with_host
def stock_load(host: Host, file: Path, as_json: bool) -> None:
    """Record stock levels from a CSV with the header `sku,quantity` (FILE '-': standard input).

    Comma- or semicolon-separated (as Excel saves it in many countries); a bad row applies nothing.
    """
    if str(file) == "-":
        if _stdin_is_terminal():
            echo("Reading sku,quantity lines from standard input; end with Ctrl-D.", err=True)
        count = stock.load_stock(host, file, stdin=sys.stdin.buffer)
    else:
        count = stock.load_stock(host, file)
    emit({"loaded": count}, as_json, lambda r: echo(f"Recorded {plural(r['loaded'], 'stock level')}."))


def _push_summary(r: dict[str, Any]) -> str:
    earlier = f"; {r['pending_earlier']} still pending from an earlier push" if r.get("pending_earlier") else ""
    return (
        f"{r['app']}: {plural(r['sent'], 'SKU')} sent: {r['accepted']} accepted, {r['rejected']} rejected, "
        f"{r['pending']} pending, {r['skipped']} skipped"
        + (f", {r['not_listed']} not listed here" if r.get("not_listed") else "")
        + earlier
    )


def _shipments_summary(r: dict[str, Any]) -> str:
    refused = f", {r['refused']} refused (order cancelled)" if r.get("refused") else ""
    return (
        f"{r['app']}: {plural(r['sent'], 'shipment')} sent: {r['accepted']} accepted, {r['rejected']} rejected, "
        f"{r['pending']} pending{refused}"
    )


def _stock_apps(host: Host, names: tuple[str, ...]) -> list[apps.App]:
    if names:
        return [apps.get(host, n) for n in names]
    return [a for a in apps.list_apps(host) if a.authorized and host.app_info(a).settings.stock_sync]


@stock_group.command("push")
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_app_names)
@click.option(
    "--dry-run", is_flag=True, help="Show the marketplace's quantity -> the one that would be sent; write nothing."
)
@json_option
@with_host
def stock_push(host: Host, names: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Push changed stock levels to the named apps (default: every authorized app with stock sync on)."""
    targets = _stock_apps(host, names)
    if not targets:
        raise click.ClickException("no authorized app has stock sync on (`linkolis apps configure NAME --stock-sync`)")
    progress = StderrProgress(quiet=as_json)
    results = [stock.push_stock(host, a, dry_run=dry_run, progress=progress) for a in targets]

    def human(rs: list[dict]) -> None:
        for r in rs:
            if r.get("note"):
                echo(f"{r['app']}: {r['note']}")
            elif dry_run:
                echo(f"{r['app']}: {plural(r['due'], 'SKU')} would be sent")
                for p in r["preview"]:
                    current = "?" if p["current"] is None else p["current"]
                    echo(f"  {p['sku']}: {current} -> {p['send']}" + (f" ({p['note']})" if p["note"] else ""))
            else:
                echo(_push_summary(r))

    emit(results if len(results) != 1 else results[0], as_json, lambda _: human(results))
    rejected = sum(r.get("rejected") or 0 for r in results)
    if rejected and not dry_run:
        echo(f"{plural(rejected, 'SKU')} rejected: `linkolis stock list` shows why; fix and push again.", err=True)
        sys.exit(1)


@stock_group.command("list")
@click.option("--app", shell_complete=complete_app_names, help="Only this app.")
@json_option
@with_host
def stock_list(host: Host, app: str | None, as_json: bool) -> None:
    """Desired, last pushed and outcome per SKU and app."""
    rows = stock.list_stock(host, app)

    def human(rs: list[dict]) -> None:
        if not rs:
            echo("No stock levels recorded. Use `linkolis stock set SKU QTY` or `linkolis stock load FILE`.")
            return

        def note(r: dict) -> str:
            mapped = f"sent as {r['marketplace_reference']}" if r.get("marketplace_reference") else ""
            warning = f"warning: {r['warning']}" if r.get("warning") else ""
            return "; ".join(x for x in (mapped, r.get("message") or "", warning) if x)

        print_table(
            [
                column("app"),
                column("sku"),
                column("desired", right=True),
                column("pushed", right=True),
                column("outcome", styles=STATUS_STYLES),
                column("message", wrap=True),
            ],
            [[r["app"], r["sku"], r["desired"], r.get("pushed_quantity"), r["outcome"], note(r)] for r in rs],
        )

    emit(rows, as_json, human)


VERIFY_STYLES = {"drift": "red", "not listed": "yellow", "accepted, not yet visible": "yellow", "in sync": "green"}


@stock_group.command("verify")
@click.argument("name", required=False, shell_complete=complete_app_names)
@json_option
@with_host
def stock_verify(host: Host, name: str | None, as_json: bool) -> None:
    """Read back the quantities the marketplace shows; report drift from desired and pushed.

    A quantity accepted within the marketplace's publication delay is "accepted, not yet visible"; a SKU whose
    last push was refused is "rejected: <why>". Exits 1 on drift or a rejection.
    """
    targets = [apps.get(host, name)] if name else _stock_apps(host, ())
    report = {a.name: stock.verify_stock(host, a) for a in targets}

    def wrong(e: dict) -> bool:
        return e["state"] == "drift" or e["state"].startswith("rejected")

    def human(r: dict) -> None:
        for app_name, entries in r.items():
            attention = [e for e in entries if wrong(e) or e["state"] == "not listed" or e.get("warning")]
            need = "needs" if len(attention) == 1 else "need"
            echo(f"{app_name}: {plural(len(entries), 'SKU')} read, {len(attention)} {need} attention")
            shown = [e for e in entries if e["state"] != "in sync" or e.get("warning")]
            if shown:
                print_table(
                    [
                        column("sku"),
                        column("desired", right=True),
                        column("pushed", right=True),
                        column("shown", right=True),
                        column("state", styles=VERIFY_STYLES),
                        column("warning", wrap=True),
                    ],
                    [[e["sku"], e["desired"], e["pushed"], e["shown"], e["state"], e.get("warning")] for e in shown],
                )

    emit(report, as_json, human)
    if any(wrong(e) for entries in report.values() for e in entries):
        sys.exit(1)


# -- sync and demo ---------------------------------------------------------------------------------------------


@cli.command("sync", context_settings=CONTEXT)
@click.argument("names", nargs=-1, metavar="[NAME]... | status", shell_complete=complete_app_names)
@click.option("--watch", is_flag=True, help="Keep going: push stock changes within seconds, import on --interval.")
@click.option(
    "--interval",
    type=click.FloatRange(1, 86400),
    default=None,
    help="Seconds between order imports under --watch [default: [sync] interval, 60].",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Under --watch: how many apps' units run at once.",
)
@json_option
@with_host
def sync_command(
    host: Host, names: tuple[str, ...], watch: bool, interval: float | None, workers: int, as_json: bool
) -> None:
    """Import orders, push stock, then confirm due shipments, for every authorized app (or those named).

    `linkolis sync status` shows what a running `sync --watch` does: per app what runs, what waits and until when,
    the last error, and how many units are ready and waiting for a worker."""
    if names == ("status",) and not watch:
        _sync_status(host, as_json)
        return
    progress = StderrProgress(quiet=as_json)
    if not watch:
        results = sync.sync_once(host, list(names) or None, progress=progress)
        emit(results, as_json, _sync_summary)
        if any("error" in r.get(step, {}) for r in results for step in ("import", "push", "shipments")):
            sys.exit(1)
        return
    for name in names:
        installed.get(host, name)  # an unknown name is refused before anything runs
    stop = threading.Event()
    echo(f"Syncing with {plural(workers, 'worker')}; stock changes are pushed within seconds. Ctrl-C stops.", err=True)
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if _main_thread() else None
    try:
        sync.watch_scheduled(
            host,
            list(names) or None,
            interval or host.config.sync.interval,
            host.config.sync.push_interval,
            stop,
            report=lambda message: echo(message, err=True),
            workers=workers,
        )
    except KeyboardInterrupt:
        stop.set()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    echo("Stopped.", err=True)


def _sync_summary(results: list[dict[str, Any]]) -> None:
    """Per app one line a step: what was imported, pushed and confirmed, or the step's error."""
    if not results:
        echo("No authorized app to sync: run `linkolis apps authorize NAME` first.")
    for r in results:
        steps = (("import", _import_summary), ("push", _push_summary), ("shipments", _shipments_summary))
        for step, summary in steps:
            outcome = r.get(step) or {}
            if "error" in outcome:
                secho(f"{r['app']}: {step} failed: {outcome['error']}", fg="red")
            elif outcome.get("note"):
                echo(f"{r['app']}: {step}: {outcome['note']}")
            elif outcome:
                try:
                    echo(f"{step:<10} {summary({'app': r['app'], **outcome})}")
                except KeyError:  # a step that did nothing says so in its own words
                    echo(f"{step:<10} {r['app']}: {value(outcome)}")


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _sync_status(host: Host, as_json: bool) -> None:
    state = scheduler.status(host)

    def human(data: dict) -> None:
        if not data["units"]:
            echo("No scheduler has run on this data directory yet; start one with `linkolis sync --watch`.")
            return
        print_table(
            [
                column("app"),
                column("unit"),
                column("state", styles=STATUS_STYLES),
                column("next run"),
                column("last error", wrap=True),
            ],
            [
                [
                    u["app"],
                    u["stream"],
                    u["state"],
                    f"{when(u['due_at'])} (in {duration_text(u['waits_s'])})" if u["state"] == "waiting" else None,
                    u["last_error"],
                ]
                for u in data["units"]
            ],
        )
        echo(f"Queue: {plural(data['queue_depth'], 'unit')} ready, {data['running']} running.")

    emit(state, as_json, human)


@cli.command(context_settings=CONTEXT)
@click.option("--interactive", is_flag=True, help="Confirm on the consent page yourself, in your browser.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to keep the demo's data (default: a new temporary directory).",
)
@click.option(
    "--web",
    is_flag=True,
    help="Serve the web app on the stand-in instead, until Ctrl-C, and print a demo user's sign-in.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="With --web.")
def demo(interactive: bool, home: Path | None, web: bool, port: int) -> None:
    """Walk the seller's whole story against a local stand-in for a marketplace.

    Install, authorize through the consent page, "Module correctly installed", import orders, change stock,
    push it. Nothing leaves this machine; the data directory is printed at the end.
    """
    from .demo import run_demo

    if web:
        from .web.demo import run_web_demo

        return run_web_demo(home, port)
    run_demo(home, interactive)


# -- workspaces, users and the web app -------------------------------------------------------------------------


@cli.group("workspaces", cls=LinkolisGroup, context_settings=CONTEXT)
def workspaces_group() -> None:
    """Workspaces: one seller business each, with its own users."""


@workspaces_group.command("add")
@click.argument("name")
@json_option
@with_host
def workspaces_add(host: Host, name: str, as_json: bool) -> None:
    """Create the workspace NAME."""
    ws = workspaces.add_workspace(host, name)
    emit({"id": ws.id, "name": ws.name}, as_json, lambda w: echo(f"Workspace {w['name']!r} created."))


@workspaces_group.command("list")
@json_option
@with_host
def workspaces_list(host: Host, as_json: bool) -> None:
    """List the workspaces and how many apps each has."""
    counts = installed.apps_per_workspace(host)
    rows = [{"id": w.id, "name": w.name, "apps": counts.get(w.id, 0)} for w in workspaces.list_workspaces(host)]

    def human(rs: list[dict]) -> None:
        if not rs:
            echo("No workspaces yet. Create one with `linkolis workspaces add NAME`.")
            return
        print_table([column("name"), column("apps", right=True)], [[r["name"], r["apps"]] for r in rs])

    emit(rows, as_json, human)


@cli.group("users", cls=LinkolisGroup, context_settings=CONTEXT)
def users_group() -> None:
    """The people who sign in to the web app (`linkolis serve`), each in one workspace."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not _stdin_is_terminal():
        raise click.UsageError("give the password on standard input with --password-stdin (never as an argument)")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)


@users_group.command("add")
@click.argument("email")
@click.option("--workspace", help="The user's workspace (default: the global --workspace, or the only one).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (without it, a terminal asks for it, hidden).",
)
@click.option(
    "--language", type=click.Choice(["en", "nl"]), help="The web app's language for this user (default: the browser's)."
)
@json_option
@with_host
def users_add(
    host: Host, email: str, workspace: str | None, password_stdin: bool, language: str | None, as_json: bool
) -> None:
    """Add a user who signs in with EMAIL."""
    workspace = workspace or click.get_current_context().find_root().meta.get(WORKSPACE_META)
    user = workspaces.add_user(host, email, _read_password(password_stdin), workspace, language)
    emit(
        {"email": user.email, "workspace": user.workspace, "language": user.language},
        as_json,
        lambda u: echo(f"User {u['email']} added to workspace {u['workspace']!r}."),
    )


@users_group.command("list")
@click.option("--workspace", help="Only this workspace's users.")
@json_option
@with_host
def users_list(host: Host, workspace: str | None, as_json: bool) -> None:
    """List the users and their workspaces."""
    rows = [
        {"email": u.email, "workspace": u.workspace, "language": u.language}
        for u in workspaces.list_users(host, workspace)
    ]

    def human(rs: list[dict]) -> None:
        if not rs:
            echo("No users yet. Add one with `linkolis users add EMAIL --workspace NAME`.")
            return
        print_table(
            [column("email"), column("workspace"), column("language")],
            [[r["email"], r["workspace"], r["language"]] for r in rs],
        )

    emit(rows, as_json, human)


@users_group.command("remove")
@click.argument("email")
@json_option
@with_host
def users_remove(host: Host, email: str, as_json: bool) -> None:
    """Remove the user EMAIL (their workspace and its data stay)."""
    user = workspaces.remove_user(host, email)
    emit({"email": user.email, "workspace": user.workspace}, as_json, lambda u: echo(f"User {u['email']} removed."))


SERVE_HELP = """Serve the web app the seller uses: My applications, orders, stock.

Register this OAuth redirect URI with each marketplace (Amazon: the app's "OAuth Redirect URI" in the Solution
Provider Portal): <base-url>/apps/callback, for example https://linkolis.example.com/apps/callback. One callback
serves every plugin; the state says which app. Amazon accepts only https redirect URIs.

`linkolis apps authorize NAME` uses the same callback: set the public address once, as [web] base_url in
linkolis.toml (or LINKOLIS_BASE_URL), and the command sends the seller's browser back here and waits until this
server completes the authorization. Without --base-url, serve uses that address too.

Behind a TLS proxy: listen on 127.0.0.1 and give --base-url; X-Forwarded-* headers are honoured from 127.0.0.1
only. Without a proxy: give --certfile and --keyfile and the app serves https itself.

While it serves, the scheduler of `linkolis sync --watch` syncs every authorized app of every workspace in the
background (My applications shows what each runs and waits for); --no-sync serves the pages only, for when a
`linkolis sync --watch` of its own runs elsewhere on this data directory.
"""


@cli.command("serve", context_settings=CONTEXT, help=SERVE_HELP)
@click.option("--host", "bind", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM) to serve https.")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), help="Its private key (PEM).")
@click.option(
    "--base-url",
    metavar="URL",
    help="The public address sellers open [default: [web] base_url, else "
    "http(s)://HOST:PORT]; "
    "the redirect URI to register is <base-url>/apps/callback.",
)
@click.option("--sync/--no-sync", "background_sync", default=True, help="Sync the apps in the background [on].")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=4, show_default=True, help="The background sync's workers."
)
@click.pass_context
def serve(
    ctx: click.Context,
    bind: str,
    port: int,
    certfile: str | None,
    keyfile: str | None,
    base_url: str | None,
    background_sync: bool,
    workers: int,
) -> None:
    import uvicorn

    from .web import WebSettings, create_app

    if bool(certfile) != bool(keyfile):
        raise click.UsageError("give --certfile and --keyfile together")
    scheme = "https" if certfile else "http"
    host = get_host(ctx)
    base_url = (base_url or config.base_url(host.config, host.env) or f"{scheme}://{bind}:{port}").rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with https:// (or http:// for a local try-out)", param_hint="--base-url")
    settings = WebSettings(base_url=base_url)
    app = create_app(lambda: host, settings)
    echo(f"Serving on {scheme}://{bind}:{port} (public address {base_url}). Ctrl-C stops.", err=True)
    echo(f"OAuth redirect URI to register: {settings.redirect_uri}", err=True)
    if not base_url.startswith("https://"):
        echo("Note: marketplaces such as Amazon accept only https redirect URIs; serve behind TLS for them.", err=True)
    syncing = contextlib.nullcontext()
    if background_sync:
        echo(
            f"Syncing every authorized app in the background with {plural(workers, 'worker')}.",
            err=True,
        )
        syncing = scheduler.background(
            host,
            workers=workers,
            interval=host.config.sync.interval,
            poll=host.config.sync.push_interval,
            report=lambda message: echo(message, err=True),
        )
    with syncing:
        uvicorn.run(
            app,
            host=bind,
            port=port,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
            log_level="warning",
            access_log=False,
        )


# -- shipments -------------------------------------------------------------------------------------------------


def _shipment_line(r: dict[str, Any]) -> str:
    items = ", ".join(f"{line['quantity']} x {line['line_id']}" for line in r["lines"])
    message = f": {r['message']}" if r["message"] else ""
    return (
        f"{r['order']} package {r['package_reference']} ({r['app']}): {r['carrier']} {r['tracking_number']}, "
        f"{items}; {r['status']}{message}"
    )


@orders_group.command("ship")
@click.argument("order_ref", metavar="ORDER")
@click.option(
    "--carrier",
    required=True,
    metavar="CODE",
    help="The carrier (DHL, DPD, PostNL, UPS, GLS…; any other name is sent as it is).",
)
@click.option("--tracking", required=True, metavar="NUMBER", help="The parcel's tracking number.")
@click.option("--method", metavar="M", help="The shipping method or service (Paket, Standard…).")
@click.option(
    "--date", "ship_date", metavar="D", help="When it left: YYYY-MM-DD or an ISO date and time [default: now]."
)
@click.option(
    "--line",
    "lines",
    multiple=True,
    metavar="ITEM=QTY",
    help="An item of the package (the order line's "
    "id or SKU) and how many; repeat it. Default: everything left to ship.",
)
@click.option(
    "--app",
    shell_complete=complete_app_names,
    help="The app whose order it is (when two apps imported the same order id).",
)
@json_option
@with_host
def orders_ship(
    host: Host,
    order_ref: str,
    carrier: str,
    tracking: str,
    method: str | None,
    ship_date: str | None,
    lines: tuple[str, ...],
    app: str | None,
    as_json: bool,
) -> None:
    """Mark an order (or part of it) shipped; the tracking number reaches the marketplace on the next push or sync."""
    result = shipments.ship_order(
        host,
        order_ref,
        carrier=carrier,
        tracking=tracking,
        method=method,
        ship_date=ship_date,
        lines=[shipments.parse_line(t) for t in lines] or None,
        app=app,
    )

    def human(r: dict) -> None:
        if r["existing"]:
            echo(f"Already recorded, nothing changed: {_shipment_line(r)}")
        else:
            echo(f"Recorded: {_shipment_line(r)}")
            echo("It is sent with `linkolis shipments push` or the next `linkolis sync`.", err=True)

    emit(result, as_json, human)


@cli.group("shipments", cls=LinkolisGroup, context_settings=CONTEXT)
def shipments_group() -> None:
    """Shipments: tracking numbers sent back to the marketplaces, once each."""


@shipments_group.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@with_host
def shipments_load(host: Host, file: Path, as_json: bool) -> None:
    """Record shipments from a CSV with the header order,carrier,tracking (and optionally item,quantity,method,date).

    Rows with the same order and tracking number are one package; a row without an item ships everything left of
    the order. A bad row applies nothing; a shipment recorded before is left as it is.
    """
    result = shipments.load_shipments(host, file)
    emit(
        result,
        as_json,
        lambda r: echo(f"Recorded {plural(r['recorded'], 'shipment')}; {r['unchanged']} recorded before, unchanged."),
    )


@shipments_group.command("list")
@click.option("--app", shell_complete=complete_app_names, help="Only this app's shipments.")
@click.option(
    "--status",
    type=click.Choice(["due", "sending", "accepted", "rejected", "pending", "refused"]),
    help="Only shipments with this status.",
)
@json_option
@with_host
def shipments_list(host: Host, app: str | None, status: str | None, as_json: bool) -> None:
    """Recorded shipments and what became of them."""
    rows = shipments.list_shipments(host, app, status)

    def human(rs: list[dict]) -> None:
        if not rs:
            echo("No shipments. Record one with `linkolis orders ship ORDER --carrier … --tracking …`.")
            return
        print_table(
            [
                column("order"),
                column("package"),
                column("app"),
                column("carrier"),
                column("tracking"),
                column("items"),
                column("status", styles=STATUS_STYLES),
                column("message", wrap=True),
            ],
            [
                [
                    r["order"],
                    r["package_reference"],
                    r["app"],
                    r["carrier"],
                    r["tracking_number"],
                    ", ".join(f"{line['quantity']} x {line['line_id']}" for line in r["lines"]),
                    r["status"],
                    r["message"],
                ]
                for r in rs
            ],
        )

    emit(rows, as_json, human)


@shipments_group.command("push")
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_app_names)
@json_option
@with_host
def shipments_push(host: Host, names: tuple[str, ...], as_json: bool) -> None:
    """Send due shipments to the named apps' marketplaces (default: every authorized app)."""
    progress = StderrProgress(quiet=as_json)
    results = [shipments.push_shipments(host, a, progress=progress) for a in _authorized_apps(host, names)]

    def human(rs: list[dict]) -> None:
        for r in rs:
            echo(_shipments_summary(r))
            for message in r["messages"][:20]:
                echo(f"  {message}")

    emit(results if len(results) != 1 else results[0], as_json, lambda _: human(results))


@stock_group.command("map")
@click.argument("sku")
@click.option(
    "--app",
    "app_name",
    shell_complete=complete_app_names,
    required=True,
    help="The app whose marketplace knows the SKU by another name.",
)
@click.option("--reference", required=True, help="The marketplace's reference for it (an EAN, the SKU listed there).")
@json_option
@with_host
def stock_map(host: Host, sku: str, app_name: str, reference: str, as_json: bool) -> None:
    """Send SKU to one app under the marketplace's own reference (sent again on the next push)."""
    result = stock.map_sku(host, sku, app_name, reference)
    emit(result, as_json, lambda r: echo(f"{r['app']}: {r['sku']} goes out as {r['reference']}"))


@stock_group.command("unmap")
@click.argument("sku")
@click.option(
    "--app",
    "app_name",
    shell_complete=complete_app_names,
    required=True,
    help="The app to send the SKU to under its own name again.",
)
@json_option
@with_host
def stock_unmap(host: Host, sku: str, app_name: str, as_json: bool) -> None:
    """Send SKU to one app under its own name again (no longer as its mapped reference)."""
    result = stock.unmap_sku(host, sku, app_name)
    emit(result, as_json, lambda r: echo(f"{r['app']}: {r['sku']} goes out under its own name (was {r['was']})"))
