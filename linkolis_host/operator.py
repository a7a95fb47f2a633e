"""A plugin's operator settings: what the host's operator gives a plugin (a client id, an endpoint override).

A plugin declares them as a subclass of ``OperatorSettings`` on its ``AppKind``; the host loads them once, when it
loads its plugins (``load_operator_settings``): ``[plugins.<kind>]`` in linkolis.toml, then the environment variables
``LINKOLIS_<KIND>_<SETTING>``, which win; a value ``"env:NAME"`` is read from the variable ``NAME`` (a secret stays
out of the file); pydantic coerces and validates. Every error names the setting, where it came from and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from .endpoints import check_endpoint
from .errors import OperatorConfigError

if TYPE_CHECKING:
    from .models import AppInfo, AppKind

ENV_REFERENCE = "env:"


@dataclass(frozen=True)
class _Origin:
    """Whose settings these are and where each came from: what their errors are worded with."""

    kind: str = "plugin"
    title: str = "plugin"
    file: str = "linkolis.toml"
    sources: Mapping[str, str] = field(default_factory=dict)

    def variable(self, name: str) -> str:
        return f"LINKOLIS_{self.kind.upper().replace('-', '_')}_{name.upper()}"

    def key(self, name: str, value: str = "") -> str:
        """Where ``name`` goes in the file (``value``: written as ``name = value``)."""
        return f"`{name}{f' = {value}' if value else ''}` under [plugins.{self.kind}] in {self.file}"

    def source(self, name: str) -> str:
        return self.sources.get(name) or f"{self.variable(name)} / {self.key(name)}"


class OperatorSettings(BaseModel):
    """The base of a plugin's operator settings: subclass it, declare it as ``AppKind.operator_settings``, and read
    the loaded settings as ``ctx.operator`` in any hook. Unknown settings are refused."""

    model_config = ConfigDict(extra="forbid")

    _origin: _Origin = PrivateAttr(default_factory=_Origin)

    notifications_queue_url: str | None = Field(
        None,
        description="The SQS queue the marketplace sends this plugin's order notifications to (its URL); unset: "
        "orders are only polled",
    )

    def require(self, *names: str) -> None:
        """Refuse to go on without these settings (those a step cannot do without), naming where to set each.

        :raises OperatorConfigError: one or more of them is not set.
        """
        missing = [name for name in names if getattr(self, name) in (None, "")]
        if missing:
            origin = self._origin
            where = "; ".join(f"{origin.variable(n)} or {origin.key(n, '…')}" for n in missing)
            raise OperatorConfigError(
                f"the {origin.title} app needs its operator setting {', '.join(missing)}: set {where}",
                param=missing[0],
            )

    def check(self) -> None:
        """What the host checks once the settings are valid, worded with their names; a subclass adds its own.

        :raises OperatorConfigError: with the way out.
        """


class EndpointOverride(OperatorSettings):
    """Operator settings with an endpoint override: one base URL in place of the marketplace (a simulator, a
    recording proxy), refused when it is plain HTTP to another machine unless the operator allows it in as many
    words (``check_endpoint``). ``endpoint_carries`` says what crosses the network to it."""

    endpoint_carries: ClassVar[str] = "the credentials"

    endpoint: str | None = Field(None, description="One base URL in place of the marketplace's (a simulator)")
    allow_insecure_endpoint: bool = Field(
        False,
        description="Let `endpoint` be plain HTTP to a host that is not this machine (the credentials then cross "
        "the network unencrypted)",
    )

    def check(self) -> None:
        super().check()
        origin = self._origin
        allow = "allow_insecure_endpoint"
        check_endpoint(
            self.endpoint,
            marketplace=origin.title,
            setting=origin.source("endpoint"),
            allow_setting=f"{origin.variable(allow)}=1 or {origin.key(allow, 'true')}",
            allowed=self.allow_insecure_endpoint,
            carries=self.endpoint_carries,
        )

    def endpoint_notice(self) -> str | None:
        """What to tell a seller or operator while the app talks to something that is not the marketplace."""
        if not self.endpoint:
            return None
        origin = self._origin
        plain = " over plain HTTP" if urlsplit(self.endpoint).scheme == "http" else ""
        return (
            f"talks to {self.endpoint}{plain} instead of {origin.title}: the operator's endpoint override "
            f"({origin.variable('endpoint')} or `endpoint` under [plugins.{origin.kind}]) is in force"
        )


def endpoint_notices(app: AppInfo, operator: OperatorSettings) -> list[str]:
    """An ``AppKind.notices`` for operator settings with an ``EndpointOverride``: that the override is in force."""
    notice = operator.endpoint_notice() if isinstance(operator, EndpointOverride) else None
    return [f"this app {notice}"] if notice else []


def load_operator_settings(
    kind: AppKind, section: Mapping[str, Any], env: Mapping[str, str], file: str = "linkolis.toml"
) -> OperatorSettings:
    """The operator settings of ``kind`` from its ``section`` of ``file`` and from ``env``, validated and checked.

    A plugin that declares none gets an empty ``OperatorSettings`` (and a section that gives it any is refused).
    :raises OperatorConfigError: a setting is unknown, invalid or refers to an unset variable, or ``check`` refused.
    """
    model = kind.operator_settings or OperatorSettings
    where = _Origin(kind.kind, kind.title, file)
    values = dict(section)
    sources = {name: where.key(name) for name in values}
    for name in model.model_fields:
        if where.variable(name) in env:
            values[name], sources[name] = env[where.variable(name)], where.variable(name)
    for name, value in values.items():
        if isinstance(value, str) and value.startswith(ENV_REFERENCE):
            reference = value.removeprefix(ENV_REFERENCE)
            if reference not in env:
                raise OperatorConfigError(
                    f"the {kind.title} operator setting {name} ({sources[name]}) refers to the environment variable "
                    f"{reference}, which is not set: set {reference}, or give {name} another way",
                    param=name,
                )
            values[name], sources[name] = env[reference], f"{reference}, named by {sources[name]}"
    origin = _Origin(kind.kind, kind.title, file, sources)
    try:
        settings = model.model_validate(values)
    except ValidationError as exc:
        raise OperatorConfigError(_problems(exc, model, origin), param=_first_name(exc)) from None
    settings._origin = origin
    settings.check()
    return settings


def _first_name(exc: ValidationError) -> str | None:
    loc = exc.errors()[0]["loc"]
    return str(loc[0]) if loc else None


def _problems(exc: ValidationError, model: type[OperatorSettings], origin: _Origin) -> str:
    """Each problem as the setting, where it came from and the fix (never the value: it may be a secret)."""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] == "extra_forbidden":
            known = ", ".join(model.model_fields) or "none"
            problems.append(f"{origin.key(name)} is none of the {origin.title} operator settings ({known}): remove it")
        elif name:
            hint = ": give true or false (or 1/0, yes/no, on/off)" if error["type"] == "bool_parsing" else ""
            problems.append(
                f"the {origin.title} operator setting {name} from {origin.source(name)} is invalid "
                f"({error['msg']}{hint}): correct it there"
            )
        else:
            problems.append(f"the {origin.title} operator settings are invalid: {error['msg']}")
    return "; ".join(problems)


def again(error: OperatorConfigError) -> OperatorConfigError:
    """A fresh copy of a kept loading error, to raise each time the settings are needed (never the same object,
    whose traceback would grow with each raise)."""
    return OperatorConfigError(error.reason, param=error.param, values=error.values)
