"""Dutch and English: gettext catalogs (``locale/<lang>/LC_MESSAGES/messages.po``) compiled with Babel at start.

The message ids are the English texts. Extract and update with Babel (see docs/operations.md):
``pybabel extract -F linkolis_host/web/babel.cfg -o messages.pot linkolis_host/web`` then
``pybabel update -i messages.pot -d linkolis_host/web/locale``.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("en", "nl")
DEFAULT = "en"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


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
