"""The law of the owner's country: statutory late-payment interest for commercial
transactions, and the fixed recovery compensation, from dated tables shipped in the code.

Pure: no I/O. Every period carries the text of its source, so a reader can check a figure
against the publication it came from. A day past a table's last known period gets that
period's rate, and `Rate.beyond_table` says so, so a message can say "rate as of …".

Rates are annual percentages of simple interest (per day, 365-day year: see
`bot.domain.money.simple_interest`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.domain.money import minor_digits, round_minor


@dataclass(frozen=True)
class Period:
    """From `start` (inclusive) until the next period's start, this annual rate applies."""

    start: date
    annual_percent: Decimal
    source: str


@dataclass(frozen=True)
class Rate:
    annual_percent: Decimal
    period_start: date
    source: str
    beyond_table: bool  # the day is past the last period the table is known to cover


@dataclass(frozen=True)
class Tier:
    """Compensation `amount` (in the rule's currency) for debts up to `upper`
    (in `threshold_currency`; `inclusive` says whether `upper` itself is in the tier)."""

    upper: Decimal | None
    inclusive: bool
    amount: Decimal


@dataclass(frozen=True)
class CompensationRule:
    currency: str  # what the amounts are stated in
    threshold_currency: str  # what the debt is measured in to pick a tier
    tiers: tuple[Tier, ...]
    source: str


@dataclass(frozen=True)
class Law:
    country: str
    basis: str  # the statute, for the code reader; letters word it per language
    periods: tuple[Period, ...]
    known_until: date  # the last day the table's last period is known to cover
    # UK: the rate is the one for the half-year in which the debt fell due, for the whole
    # debt (Late Payment of Commercial Debts (Rate of Interest) (No. 3) Order 2002).
    fixed_at_due: bool = False
    compensation: CompensationRule | None = None


def _half_years(first: date, percents: Sequence[str], source: str, base: str) -> tuple[Period, ...]:
    """Consecutive half-year periods from `first`, each naming its half-year in the source."""
    periods = []
    year, month = first.year, first.month
    for percent in percents:
        half = "H1" if month == 1 else "H2"
        periods.append(
            Period(date(year, month, 1), Decimal(percent), f"{source}, {year} {half}: {base}")
        )
        year, month = (year, 7) if month == 1 else (year + 1, 1)
    return tuple(periods)


# --- EU Directive 2011/7/EU, art. 2(6)-(7): the ECB main refinancing rate in force on the
# first calendar day of the half-year + 8 points. ECB MRO on 1 Jan / 1 Jul: 2022: 0.00 / 0.00;
# 2023: 2.50 / 4.00; 2024: 4.50 / 4.25; 2025: 3.15 / 2.15.
ECB_ON_FIRST_DAY = ("0.00", "0.00", "2.50", "4.00", "4.50", "4.25", "3.15", "2.15")
_EU_DEFAULT = _half_years(
    date(2022, 1, 1),
    [str(Decimal(rate) + 8) for rate in ECB_ON_FIRST_DAY],
    "Directive 2011/7/EU art. 2(6)-(7); ECB main refinancing rate on the first day",
    "ECB MRO + 8 points",
)
EU_COMPENSATION = CompensationRule(
    "EUR", "EUR", (Tier(None, False, Decimal(40)),), "Directive 2011/7/EU art. 6: EUR 40"
)

# --- Germany: § 288 Abs. 2 BGB (Basiszinssatz + 9 points, above the Directive's 8),
# Basiszinssatz under § 247 BGB as published by the Deutsche Bundesbank each half-year.
_DE = _half_years(
    date(2022, 1, 1),
    ["8.12", "8.12", "10.62", "12.12", "12.62", "12.37", "11.27", "10.27"],
    "§ 288 Abs. 2 BGB; Basiszinssatz (Deutsche Bundesbank, § 247 BGB)",
    "Basiszinssatz -0.88/-0.88/1.62/3.12/3.62/3.37/2.27/1.27 + 9 points",
)
DE_COMPENSATION = CompensationRule(
    "EUR", "EUR", (Tier(None, False, Decimal(40)),), "§ 288 Abs. 5 BGB: EUR 40"
)

# --- Portugal: DL 62/2013 (commercial transactions, transposing the Directive): the rate
# published each half-year by Aviso da Direção-Geral do Tesouro e Finanças (ECB rate + 8).
_PT = _half_years(
    date(2022, 1, 1),
    ["8.00", "8.00", "10.50", "12.00", "12.50", "12.25", "11.15", "10.15"],
    "Aviso da DGTF (taxa supletiva de juros moratórios, transações comerciais, DL 62/2013)",
    "BCE + 8 pontos",
)
PT_COMPENSATION = CompensationRule(
    "EUR", "EUR", (Tier(None, False, Decimal(40)),), "DL 62/2013 art. 7: EUR 40"
)

# --- Poland: odsetki ustawowe za opóźnienie w transakcjach handlowych (ustawa z 8 marca
# 2013, art. 4 pkt 3 lit. a): NBP reference rate on 1 Jan / 1 Jul + 10 points, announced
# by obwieszczenie Ministra Finansów. NBP reference rate then: 2022: 1.75 / 6.00;
# 2023: 6.75 / 6.75; 2024: 5.75 / 5.75; 2025: 5.75 / 5.25.
_PL = _half_years(
    date(2022, 1, 1),
    ["11.75", "16.00", "16.75", "16.75", "15.75", "15.75", "15.75", "15.25"],
    "Obwieszczenie Ministra Finansów (art. 4 pkt 3 ustawy o przeciwdziałaniu nadmiernym "
    "opóźnieniom w transakcjach handlowych)",
    "stopa referencyjna NBP + 10 pkt proc.",
)
PL_COMPENSATION = CompensationRule(
    "EUR",
    "PLN",
    (
        Tier(Decimal(5000), True, Decimal(40)),
        Tier(Decimal(50000), False, Decimal(70)),
        Tier(None, False, Decimal(100)),
    ),
    "art. 10 ust. 1 ustawy o przeciwdziałaniu nadmiernym opóźnieniom w transakcjach "
    "handlowych: 40 / 70 / 100 EUR (do 5 000 zł / poniżej 50 000 zł / od 50 000 zł)",
)

# --- United Kingdom: Late Payment of Commercial Debts (Interest) Act 1998; reference rate
# = Bank of England base rate on 31 December (debts due January-June) or 30 June (debts due
# July-December), + 8 points. Base rate on those days: 31.12.2021 0.25; 30.06.2022 1.25;
# 31.12.2022 3.50; 30.06.2023 5.00; 31.12.2023 5.25; 30.06.2024 5.25; 31.12.2024 4.75;
# 30.06.2025 4.25.
_GB = _half_years(
    date(2022, 1, 1),
    ["8.25", "9.25", "11.50", "13.00", "13.25", "13.25", "12.75", "12.25"],
    "Late Payment of Commercial Debts (Interest) Act 1998; Bank of England base rate",
    "base rate on the reference date + 8 points",
)
GB_COMPENSATION = CompensationRule(
    "GBP",
    "GBP",
    (
        Tier(Decimal(1000), False, Decimal(40)),
        Tier(Decimal(10000), False, Decimal(70)),
        Tier(None, False, Decimal(100)),
    ),
    "Late Payment of Commercial Debts (Interest) Act 1998 s. 5A: £40 / £70 / £100",
)

# --- Russia: art. 395 ГК РФ: the Bank of Russia key rate in force in each period, from the
# day each decision took effect.
_RU_KEY_RATE = (
    (date(2021, 12, 20), "8.50"),
    (date(2022, 2, 14), "9.50"),
    (date(2022, 2, 28), "20.00"),
    (date(2022, 4, 11), "17.00"),
    (date(2022, 5, 4), "14.00"),
    (date(2022, 5, 27), "11.00"),
    (date(2022, 6, 14), "9.50"),
    (date(2022, 7, 25), "8.00"),
    (date(2022, 9, 19), "7.50"),
    (date(2023, 7, 24), "8.50"),
    (date(2023, 8, 15), "12.00"),
    (date(2023, 9, 18), "13.00"),
    (date(2023, 10, 30), "15.00"),
    (date(2023, 12, 18), "16.00"),
    (date(2024, 7, 29), "18.00"),
    (date(2024, 9, 16), "19.00"),
    (date(2024, 10, 28), "21.00"),
    (date(2025, 6, 9), "20.00"),
    (date(2025, 7, 28), "18.00"),
    (date(2025, 9, 15), "17.00"),
    (date(2025, 10, 27), "16.50"),
)
_RU = tuple(
    Period(start, Decimal(percent), f"ст. 395 ГК РФ; ключевая ставка Банка России с {start}")
    for start, percent in _RU_KEY_RATE
)

# --- Brazil: juros de mora of 1% a month (12% a year, simple, pro rata die), art. 406
# Código Civil with art. 161 § 1 CTN, the rate courts applied until Lei 14.905/2024. From
# 30.08.2024 the legal default is the "taxa legal" (Selic minus IPCA) published monthly by
# the Banco Central; 1% a month remains the customary agreed rate, so that is what ships.
_BR = (
    Period(
        date(2022, 1, 1),
        Decimal(12),
        "art. 406 Código Civil c/c art. 161 § 1º CTN: juros de mora de 1% ao mês",
    ),
)

HALF_YEAR_END = date(2025, 12, 31)
LAWS: dict[str, Law] = {
    "DE": Law("DE", "§ 288 BGB", _DE, HALF_YEAR_END, compensation=DE_COMPENSATION),
    "PT": Law("PT", "DL 62/2013", _PT, HALF_YEAR_END, compensation=PT_COMPENSATION),
    "PL": Law("PL", "ustawa z 8 marca 2013", _PL, HALF_YEAR_END, compensation=PL_COMPENSATION),
    "GB": Law("GB", "Late Payment Act 1998", _GB, HALF_YEAR_END, True, GB_COMPENSATION),
    "RU": Law("RU", "ст. 395 ГК РФ", _RU, date(2025, 11, 30)),
    "BR": Law("BR", "art. 406 CC", _BR, date(2025, 12, 31)),
    # Euro-area members whose law takes the Directive's default (ECB rate + 8) as it is.
    **{
        country: Law(country, "Directive 2011/7/EU", _EU_DEFAULT, HALF_YEAR_END, False, rule)
        for country, rule in (
            ("ES", EU_COMPENSATION),  # Ley 3/2004 art. 7 and 8
            ("IT", EU_COMPENSATION),  # D.Lgs. 231/2002 art. 5 and 6
            ("NL", EU_COMPENSATION),  # BW art. 6:119a and 6:96
            ("IE", EU_COMPENSATION),  # S.I. 580/2012
        )
    },
}
# `UK` is what many people type for the United Kingdom; ISO 3166 says GB.
COUNTRY_ALIASES = {"UK": "GB"}


def law_for(country: str | None) -> Law | None:
    return LAWS.get(country) if country else None


def rate_on(law: Law, day: date) -> Rate:
    """The statutory annual rate on `day` (the first period's rate before the table)."""
    current = law.periods[0]
    for period in law.periods:
        if period.start > day:
            break
        current = period
    return Rate(current.annual_percent, current.start, current.source, day > law.known_until)


def rate_schedule(
    law: Law, due_date: date, since: date, until: date
) -> tuple[tuple[date, Decimal], ...]:
    """The steps of the annual rate over [since, until): (first day, percent) pairs."""
    if law.fixed_at_due:
        return ((since, rate_on(law, due_date).annual_percent),)
    steps = [(since, rate_on(law, since).annual_percent)]
    steps += [(p.start, p.annual_percent) for p in law.periods if since < p.start < until]
    return tuple(steps)


def rate_for_invoice(law: Law, due_date: date, day: date) -> Rate:
    """The rate the invoice bears on `day` (UK: the one fixed when it fell due)."""
    return rate_on(law, due_date if law.fixed_at_due else day)


# --- NBP average EUR rate (tabela A, kurs średni), for the PLN value of the Polish
# compensation: the rate of the last business day of the month before the month the
# payment fell due (art. 10 ust. 1). Source: NBP, archiwum kursów średnich (tabela A).
# Only year-end rates are shipped (2021-12-31 … 2024-12-31); any other month uses the
# latest earlier one and says so (`ExchangeRate.exact` is False).
NBP_EUR_PLN: tuple[tuple[date, Decimal], ...] = (
    (date(2021, 12, 31), Decimal("4.5994")),
    (date(2022, 12, 30), Decimal("4.6899")),
    (date(2023, 12, 29), Decimal("4.3480")),
    (date(2024, 12, 31), Decimal("4.2730")),
)


@dataclass(frozen=True)
class ExchangeRate:
    pln_per_eur: Decimal
    on: date  # the day of the NBP table used
    wanted: date  # the last day of the month whose last business day the law names
    exact: bool  # the table has that month's rate


def nbp_eur_rate(due_date: date) -> ExchangeRate:
    wanted = due_date.replace(day=1) - timedelta(days=1)
    earlier = [(day, rate) for day, rate in NBP_EUR_PLN if day <= wanted]
    day, rate = earlier[-1] if earlier else NBP_EUR_PLN[0]
    same_month = (day.year, day.month) == (wanted.year, wanted.month)
    return ExchangeRate(rate, day, wanted, same_month)


@dataclass(frozen=True)
class Compensation:
    minor: int  # in the invoice's currency
    currency: str
    stated: Decimal  # the amount the law states: 40, 70 or 100
    stated_currency: str  # EUR or GBP
    exchange: ExchangeRate | None  # set when converted (Poland, invoices in PLN)


def _tier(rule: CompensationRule, debt: Decimal) -> Decimal:
    for tier in rule.tiers:
        if tier.upper is None or debt < tier.upper or (tier.inclusive and debt == tier.upper):
            return tier.amount
    raise AssertionError("the last tier has no upper bound")


def compensation_for(
    law: Law, amount_minor: int, currency: str, due_date: date
) -> Compensation | None:
    """The fixed compensation for recovery costs of one invoice, in its own currency, or
    None where the law gives none or the invoice's currency cannot carry it (a USD invoice
    under the EUR 40 rule: the bot ships no USD rate, and inventing one would be wrong)."""
    rule = law.compensation
    if rule is None:
        return None
    debt = Decimal(amount_minor).scaleb(-minor_digits(currency))
    exchange = None
    if currency == rule.threshold_currency:
        stated = _tier(rule, debt)
    elif rule.threshold_currency == "PLN" and currency == "EUR":
        exchange = nbp_eur_rate(due_date)
        stated = _tier(rule, debt * exchange.pln_per_eur)
    else:
        return None
    if currency == rule.currency:
        minor = round_minor(stated.scaleb(minor_digits(currency)))
    elif rule.currency == "EUR" and currency == "PLN":
        exchange = nbp_eur_rate(due_date)
        minor = round_minor((stated * exchange.pln_per_eur).scaleb(minor_digits(currency)))
    else:
        return None
    return Compensation(minor, currency, stated, rule.currency, exchange)


def has_compensation(country: str | None) -> bool:
    law = law_for(country)
    return law is not None and law.compensation is not None
