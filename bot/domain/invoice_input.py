"""The /newinvoice one-liner: `<client> <amount> [<currency>] <due> [description]`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.numbers import is_currency

from bot.domain.dates import DateError, parse_leading_date
from bot.domain.money import MoneyError, parse_amount, to_minor
from bot.domain.text import one_line

MAX_DESCRIPTION = 500
MAX_AMOUNT_MINOR = 10**13


class InvoiceInputError(ValueError):
    """What was wrong with the owner's input; `str()` is a short code for the template."""


@dataclass(frozen=True)
class InvoiceDraftRest:
    amount: Decimal
    currency: str
    due_date: date
    description: str
    pay_link: str | None = None


MAX_LINK = 500


def is_pay_link(word: str) -> bool:
    return word.startswith(("https://", "http://")) and len(word) <= MAX_LINK and "." in word


def split_pay_link(text: str) -> tuple[str, str | None]:
    """A payment link typed at the end of the description belongs to the invoice."""
    words = text.split()
    if words and is_pay_link(words[-1]):
        return " ".join(words[:-1]), words[-1]
    return text, None


def is_amount(word: str) -> bool:
    try:
        parse_amount(word)
    except MoneyError:
        return False
    return any(ch.isdigit() for ch in word)


def client_splits(words: list[str]) -> list[tuple[str, list[str]]]:
    """Every way to read the words as `<client> <amount …>`: client names may hold spaces
    and even numbers ("Studio 54"), so each amount-looking word is a candidate split."""
    return [(" ".join(words[:i]), words[i:]) for i in range(1, len(words)) if is_amount(words[i])]


def parse_rest(
    rest: list[str], default_currency: str, today: date, locale: str
) -> InvoiceDraftRest:
    """Parse `<amount> [<currency>] <due> [description]` (the words after the client)."""
    if not rest:
        raise InvoiceInputError("missing_amount")
    amount = parse_amount(rest[0])
    words = rest[1:]
    currency = default_currency
    if words and len(words[0]) == 3 and words[0].isalpha():
        if not is_currency(words[0].upper()):
            raise InvoiceInputError("unknown_currency")
        currency, words = words[0].upper(), words[1:]
    check_amount(amount, currency)
    if not words:
        raise InvoiceInputError("missing_due")
    try:
        due, words = parse_leading_date(words, today, locale)
    except DateError as exc:
        raise InvoiceInputError(
            "impossible_date" if str(exc) == "impossible" else "bad_date"
        ) from None
    description, pay_link = split_pay_link(" ".join(words))
    return InvoiceDraftRest(amount, currency, due, check_description(description), pay_link)


def check_amount(amount: Decimal, currency: str) -> int:
    """The amount in minor units, or InvoiceInputError if it cannot be an invoice amount."""
    if amount <= 0:
        raise InvoiceInputError("amount_not_positive")
    try:
        minor = to_minor(amount, currency)
    except MoneyError:
        raise InvoiceInputError("amount_precision") from None
    if minor > MAX_AMOUNT_MINOR:
        raise InvoiceInputError("amount_too_large")
    return minor


def check_description(text: str) -> str:
    text = one_line(text)
    if len(text) > MAX_DESCRIPTION:
        raise InvoiceInputError("description_too_long")
    return text
