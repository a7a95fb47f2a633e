"""An app kind's settings as options: those of `apps install KIND` and of `apps configure NAME`."""

from __future__ import annotations

import shlex
from typing import Any

import click

from .. import apps
from ..apps import FieldSpec, fields_of
from ..errors import LinkolisError
from ..terminal import article
from . import base
from .base import CONTEXT, LinkolisCommand, LinkolisGroup, complete_app_names, echo, emit, get_host


class AnyCaseChoice(click.Choice):
    """A choice typed in any case, shown and refused in the plugin's own spelling ("DE", not "de")."""

    def __init__(self, choices: list[str]) -> None:
        super().__init__(choices, case_sensitive=False)

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        return f"{value!r} is not one of {', '.join(map(str, self.choices))}."

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return f"[{'|'.join(map(str, self.choices))}]"


class NoneValue:
    """What `--stock-max none` gives: set the field to nothing (no cap), as opposed to not giving the option."""

    def __repr__(self) -> str:
        return "none"


NONE = NoneValue()


class OptionalInt(click.ParamType):
    """A whole number, or "none" for a field that may be empty (no cap)."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is NONE or isinstance(value, int):
            return value
        if str(value).strip().lower() in ("none", ""):
            return NONE
        try:
            return int(value)
        except ValueError:
            self.fail(f"{value!r} is not a whole number (or 'none')", param, ctx)


def _field_option(spec: FieldSpec, with_defaults: bool) -> click.Option:
    flag = "--" + spec.name.replace("_", "-")
    help_text = spec.help + (f" [default: {spec.default}]" if with_defaults and spec.default is not None else "")
    if spec.type == "bool":
        return click.Option([f"{flag}/--no-{spec.name.replace('_', '-')}", spec.name], default=None, help=help_text)
    click_type: Any = {"int": int, "float": float}.get(spec.type, str)
    optional = spec.type == "int" and spec.default is None and not spec.required
    if optional:
        click_type = OptionalInt()
        help_text += " ('none': no limit)"
    if spec.choices:
        click_type = AnyCaseChoice(spec.choices)
    return click.Option(
        [flag, spec.name],
        type=click_type,
        default=None,
        help=help_text,
        metavar=None if spec.choices else ("INT|none" if optional else spec.type.upper()),
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
        if value is not None and value is not NONE:
            values[spec.name] = _normalize(spec, value)
    return values


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
            values = _collect(specs, params, prompt_missing=base.stdin_is_terminal())
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


@click.command(
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
    changes = {
        k: None if v is NONE else _normalize(next(s for s in specs if s.name == k), v)
        for k, v in sub.params.items()
        if v is not None
    }
    if not changes:
        raise click.UsageError(f"nothing to change; `linkolis apps configure {name!r} --help` lists the fields")
    new_row, voided = apps.configure(host, row, changes)
    starts_over = new_row.account_scope != row.account_scope

    def human(v: dict) -> None:
        echo(f"Updated {v['name']!r}: " + ", ".join(f"{k}={v['settings'].get(k)}" for k in changes))
        if starts_over:
            echo(
                f"{v['name']!r} now covers {new_row.account_scope}: every stock level is sent there on the next push, "
                "and its orders are imported as on a first import."
            )
        if voided:
            echo(f"This change voids the authorization: run `linkolis apps authorize {v['name']!r}` again.")

    view = {**apps.public_view(host, new_row), "authorization_voided": voided, "starts_over": starts_over}
    emit(view, as_json, human)
