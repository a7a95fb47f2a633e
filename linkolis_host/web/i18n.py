"""Dutch and English: gettext catalogs (``locale/<lang>/LC_MESSAGES/messages.po``) compiled with Babel at start.

The message ids are the English texts. Extract and update with Babel (see docs/operations.md):
``pybabel extract -F linkolis_host/web/babel.cfg -o messages.pot linkolis_host/web`` then
``pybabel update -i messages.pot -d linkolis_host/web/locale``.

The host's catalog holds the host's words only. A plugin's words (its catalog description, its panel's titles, help
lines and choices) come from the plugin's own catalog, ``<AppKind.locale_dir>/<lang>/LC_MESSAGES/<kind>.po``
(``plugin_translations``), compiled the same way; what a plugin inherits from ``AppSettings`` is the host's.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from ..models import AppKind

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("en", "nl")
DEFAULT = "en"


def N_(message: str) -> str:
    """Marks a host word that reaches a page as data (a status), not as a template's text, for Babel to find."""
    return message


# The host's words that pages show from data and ``formats.WORDS`` does not word: app statuses (``_(app.status)``),
# stock push outcomes (``_(a.outcome)``), and the titles and help of the fields every app's panel inherits from
# ``AppSettings``. No plugin's words: those are the plugin's own (``plugin_translations``).
HOST_WORDS = [
    N_("installed"),
    N_("authorized"),
    N_("verified"),
    N_("removed"),
    N_("accepted"),
    N_("rejected"),
    N_("pending"),
    N_("sending"),
    N_("not pushed"),
    N_("not listed here"),
    N_("to be sent again"),
    N_("Application name"),
    N_("How this app is called in My applications"),
    N_("Stock update sync"),
    N_("Push stock levels to this app's listings as they change"),
    N_("Stock buffer"),
    N_("Units kept back from this app: it is offered what is available less these"),
    N_("Most offered"),
    N_("Never offer this app more than this many units of a SKU (empty: no limit)"),
    N_("Order check while notified"),
    N_(
        "When the marketplace notifies this app's orders, also look for missed ones every this many minutes "
        "(empty: the operator's default)"
    ),
    N_("authorization revoked — authorize again"),  # errors.AuthorizationRevoked's reason, on an app's row
]


def _compiled(po: Path, lang: str) -> gettext.NullTranslations | None:
    if not po.exists():
        return None
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    return _compiled(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", lang) or gettext.NullTranslations()


@cache
def _plugin_catalog(locale_dir: Path, domain: str, lang: str) -> gettext.NullTranslations:
    own = _compiled(locale_dir / lang / "LC_MESSAGES" / f"{domain}.po", lang)
    if own is None:
        return translations(lang)
    own.add_fallback(translations(lang))  # what the plugin inherits from AppSettings: the host's words
    return own


def plugin_translations(kind: AppKind | None, lang: str) -> gettext.NullTranslations:
    """The words of the plugin that offers ``kind`` in ``lang``, falling back to the host's (for the fields every
    panel inherits), then to the plugin's English. ``None`` (a kind no plugin offers any longer): the host's."""
    if kind is None or kind.locale_dir is None:
        return translations(lang)
    return _plugin_catalog(Path(kind.locale_dir), kind.kind, lang)


def from_accept_language(header: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header; English when none fits."""
    preferred: list[tuple[float, str]] = []
    for n, part in enumerate((header or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        if not tag or tag == "*":
            continue
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        preferred.append((-weight, n, tag.replace("_", "-")))  # type: ignore[arg-type]
    tags = [t for *_, t in sorted(preferred)]
    return (
        negotiate_locale(tags, list(LANGUAGES), sep="-")
        or negotiate_locale([t.split("-")[0] for t in tags], list(LANGUAGES), sep="-")
        or DEFAULT
    )
