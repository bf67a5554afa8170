"""The owner's `country`, `interest statutory` and `compensation` settings (SPEC §3):
validated here, before anything is stored; each refusal names what to send instead."""

from __future__ import annotations

from datetime import date

from babel import Locale

from bot.db.tables import Owner
from bot.domain.statutory import COUNTRY_ALIASES, has_compensation, law_for, rate_on
from bot.domain.text import one_line
from bot.services.errors import Refused

CLEARING_WORDS = ("none", "off", "-")
ON_WORDS = ("on", "yes")
OFF_WORDS = ("off", "no", "none")
# ISO 3166 alpha-2 codes as CLDR knows them (Babel); its numeric regions ("150") and
# pseudo-territories ("ZZ", "EU") are not countries.
_NOT_COUNTRIES = {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB", "XK"}
COUNTRIES = frozenset(
    str(code)
    for code in Locale("en").territories
    if len(str(code)) == 2 and str(code).isalpha() and code not in _NOT_COUNTRIES
)


def _country_code(raw: str) -> str:
    code = one_line(raw).upper()
    code = COUNTRY_ALIASES.get(code, code)
    if code not in COUNTRIES:
        raise Refused("law_country_bad", given=one_line(raw))
    return code


def set_country(owner: Owner, raw: str) -> None:
    """Set or clear the country; what the new country's law cannot give is switched off
    (statutory interest without a table, compensation where the law has none)."""
    value = one_line(raw)
    if not value:
        raise Refused("setting_missing", field="country")
    owner.country = None if value.lower() in CLEARING_WORDS else _country_code(value)
    if law_for(owner.country) is None:
        owner.interest_statutory = False
    if not has_compensation(owner.country):
        owner.compensation = False


def check_statutory(country: str | None) -> None:
    if country is None:
        raise Refused("law_no_country", field="interest")
    if law_for(country) is None:
        raise Refused("law_no_table", country=country)


def set_compensation(owner: Owner, raw: str) -> None:
    word = one_line(raw).lower()
    if word in OFF_WORDS:
        owner.compensation = False
        return
    if word not in ON_WORDS:
        raise Refused("law_compensation_bad", given=one_line(raw))
    if owner.country is None:
        raise Refused("law_no_country", field="compensation")
    if not has_compensation(owner.country):
        raise Refused("law_no_compensation", country=owner.country)
    owner.compensation = True


def statutory_percent_on(country: str | None, today: date | None) -> str | None:
    """The statutory annual rate in force on `today`, to show in /settings."""
    law = law_for(country)
    if law is None or today is None:
        return None
    return str(rate_on(law, today).annual_percent)
