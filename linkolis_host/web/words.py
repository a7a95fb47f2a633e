"""Texts the pages show that come from data, not templates, so that Babel's extraction finds them.

App statuses, order statuses and push outcomes are the host's words; the panel's field titles are the plugins'
(``title=`` in a settings model): a title listed here is shown translated, any other as the plugin wrote it.
"""


def _(message: str) -> str:
    return message


WORDS = [
    # app statuses
    _("installed"),
    _("authorized"),
    _("verified"),
    _("removed"),
    # order statuses
    _("pending"),
    _("unshipped"),
    _("partially_shipped"),
    _("shipped"),
    _("cancelled"),
    # stock push outcomes
    _("accepted"),
    _("rejected"),
    _("not pushed"),
    _("sending"),
    _("not listed here"),
    _("to be sent again"),
    # panel fields common to marketplaces
    _("Application name"),
    _("Marketplace"),
    _("Stock update sync"),
    _("Region"),
    _("Shop"),
    _("API token"),
    _("Account id"),
]
