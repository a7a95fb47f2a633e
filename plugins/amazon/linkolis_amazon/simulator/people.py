"""Made-up buyers and addresses per country, drawn from a per-order seed so they cost no memory until asked for."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .marketplaces import Marketplace

_NAMES = {
    "DE": (
        ["Anna", "Lukas", "Marie", "Jonas", "Lea", "Felix", "Sophie", "Paul"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker"],
    ),
    "FR": (
        ["Camille", "Louis", "Léa", "Hugo", "Chloé", "Jules"],
        ["Martin", "Bernard", "Dubois", "Durand", "Lefèvre", "Moreau"],
    ),
    "IT": (
        ["Giulia", "Marco", "Sofia", "Luca", "Chiara", "Matteo"],
        ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano"],
    ),
    "ES": (
        ["Lucía", "Hugo", "Martina", "Pablo", "Sara", "Daniel"],
        ["García", "Fernández", "González", "Rodríguez", "López", "Martínez"],
    ),
    "NL": (
        ["Emma", "Daan", "Julia", "Sem", "Tess", "Lucas"],
        ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser"],
    ),
    "UK": (
        ["Olivia", "Oliver", "Amelia", "George", "Isla", "Harry"],
        ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson"],
    ),
    "US": (
        ["Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan"],
        ["Johnson", "Miller", "Davis", "Garcia", "Anderson", "Clark"],
    ),
}
_CITIES = {
    "DE": [("Berlin", "BE", "10115"), ("München", "BY", "80331"), ("Hamburg", "HH", "20095"), ("Köln", "NW", "50667")],
    "FR": [("Paris", "", "75001"), ("Lyon", "", "69001"), ("Marseille", "", "13001"), ("Toulouse", "", "31000")],
    "IT": [("Roma", "RM", "00184"), ("Milano", "MI", "20121"), ("Torino", "TO", "10121"), ("Napoli", "NA", "80133")],
    "ES": [("Madrid", "Madrid", "28001"), ("Barcelona", "Barcelona", "08001"), ("Valencia", "Valencia", "46001")],
    "NL": [
        ("Amsterdam", "Noord-Holland", "1012 AB"),
        ("Rotterdam", "Zuid-Holland", "3011 AD"),
        ("Utrecht", "Utrecht", "3511 AA"),
    ],
    "UK": [
        ("London", "Greater London", "SW1A 1AA"),
        ("Manchester", "Greater Manchester", "M1 1AE"),
        ("Leeds", "West Yorkshire", "LS1 1UR"),
    ],
    "US": [("Seattle", "WA", "98101"), ("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("Boston", "MA", "02108")],
}
# Address parts only some places have: the county of a US city, the municipality of a Spanish or Italian one.
_DISTRICTS = {
    "Seattle": "King County",
    "Austin": "Travis County",
    "Denver": "Denver County",
    "Boston": "Suffolk County",
}
_MUNICIPALITIES = {"Madrid": "Madrid", "Barcelona": "Barcelona", "Roma": "Roma Capitale", "Milano": "Milano"}
_COMPANY_FORMS = {"DE": "GmbH", "FR": "SARL", "IT": "S.r.l.", "ES": "S.L.", "NL": "B.V.", "UK": "Ltd", "US": "LLC"}
_DIAL = {"DE": "49", "FR": "33", "IT": "39", "ES": "34", "NL": "31", "UK": "44", "US": "1"}
_STREETS = {
    "DE": "Hauptstraße",
    "FR": "rue de la République",
    "IT": "Via Roma",
    "ES": "Calle Mayor",
    "NL": "Kerkstraat",
    "UK": "High Street",
    "US": "Main Street",
}


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    phone: str
    address_line1: str
    city: str
    state: str
    postal_code: str
    country: str
    company: str | None
    district: str | None = None
    municipality: str | None = None


def person(seed: int, market: Marketplace, business: bool = False) -> Person:
    """The buyer of an order, the same every time for the same seed; a ``business`` buyer always has a company."""
    rng = random.Random(seed)
    key = market.country if market.country in _NAMES else ("US" if market.region == "NA" else "UK")
    first, last = _NAMES[key]
    name = f"{rng.choice(first)} {rng.choice(last)}"
    city, state, postal = rng.choice(_CITIES[key])
    number = rng.randint(1, 199)
    street = _STREETS[key]
    line1 = f"{number} {street}" if key in ("UK", "US") else f"{street} {number}"
    domain = market.domain.removeprefix("www.")
    email = f"{rng.getrandbits(40):010x}@marketplace.{domain}"
    phone = f"+{_DIAL.get(key, '1')} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}"
    if business:
        company: str | None = f"{last[rng.randrange(len(last))]} {_COMPANY_FORMS[key]}"
    else:
        company = f"{last[rng.randrange(len(last))]} GmbH" if key == "DE" and rng.random() < 0.1 else None
    return Person(
        name,
        email,
        phone,
        line1,
        city,
        state,
        postal,
        market.iso_country,
        company,
        _DISTRICTS.get(city),
        _MUNICIPALITIES.get(city),
    )
