"""Statement credits matched to open invoices (SPEC §10).

Certain: the line's text names `DUE-<n>` of an open invoice in its currency, for at most
what is due now (several references: exactly their sum) → recorded at once.
Doubtful: no usable reference, but the amount is exactly what one open invoice owes now
(or its next instalment) and the payer's name is close to the client's → offered to the
owner with Confirm / Skip. Everything else is listed as unmatched, with the reason.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from enum import StrEnum

from bot.domain.bank import references_in

NAME_SIMILARITY = 0.85  # difflib ratio over normalised names: "Acme Ltd." ~ "ACME LTD"
# Legal-form words that say nothing about who paid.
LEGAL_FORMS = frozenset(
    {
        "gmbh",
        "ag",
        "kg",
        "ug",
        "ltd",
        "ltda",
        "llc",
        "inc",
        "sa",
        "s",
        "a",
        "sp",
        "z",
        "o",
        "zoo",
        "spzoo",
        "sro",
        "oy",
        "ab",
        "bv",
        "nv",
        "srl",
        "sl",
        "me",
        "eireli",
        "epp",
        "ooo",
        "oao",
        "zao",
        "ip",
    }
)


class Outcome(StrEnum):
    RECORDED = "recorded"
    OFFERED = "offered"
    UNMATCHED = "unmatched"


@dataclass(frozen=True)
class OpenInvoice:
    number: int
    client_name: str
    currency: str
    due_on: date
    due_now_minor: int
    instalment_minor: int | None = None  # the next unpaid instalment of an accepted plan


@dataclass(frozen=True)
class Credit:
    amount_minor: int
    currency: str
    payer: str
    text: str


@dataclass(frozen=True)
class Match:
    outcome: Outcome
    # invoice number → amount in minor units (one for an offer, several for one transfer
    # paying several referenced invoices)
    pays: tuple[tuple[int, int], ...] = ()
    reason: str = ""  # why unmatched: no_match, more_than_owed, closed, sum_differs


@dataclass
class Matcher:
    """Matches the credits of one import in order; what one line pays is not owed by the next."""

    invoices: list[OpenInvoice]
    closed_numbers: frozenset[int] = frozenset()
    _owed: dict[int, int] = field(init=False)
    _offered: set[int] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._owed = {invoice.number: invoice.due_now_minor for invoice in self.invoices}
        self._by_number = {invoice.number: invoice for invoice in self.invoices}

    def match(self, credit: Credit) -> Match:
        numbers = references_in(credit.text)
        known = [n for n in numbers if n in self._by_number or n in self.closed_numbers]
        if known:
            return self._by_reference(credit, known)
        return self._by_amount_and_name(credit)

    def _by_reference(self, credit: Credit, numbers: list[int]) -> Match:
        if any(n not in self._by_number or self._owed[n] <= 0 for n in numbers):
            return Match(Outcome.UNMATCHED, reason="closed")
        if any(self._by_number[n].currency != credit.currency for n in numbers):
            return Match(Outcome.UNMATCHED, reason="currency")
        if len(numbers) == 1:
            number = numbers[0]
            if credit.amount_minor > self._owed[number]:
                return Match(Outcome.UNMATCHED, reason="more_than_owed")
            self._owed[number] -= credit.amount_minor
            return Match(Outcome.RECORDED, ((number, credit.amount_minor),))
        # One transfer for several invoices (the combined reminder's QR): certain only when
        # it pays each of them in full; a part of it can't be shared out by guessing.
        if credit.amount_minor != sum(self._owed[n] for n in numbers):
            return Match(Outcome.UNMATCHED, reason="sum_differs")
        pays = tuple((n, self._owed[n]) for n in numbers)
        for n in numbers:
            self._owed[n] = 0
        return Match(Outcome.RECORDED, pays)

    def _by_amount_and_name(self, credit: Credit) -> Match:
        candidates = [
            invoice
            for invoice in sorted(self.invoices, key=lambda i: (i.due_on, i.number))
            if invoice.currency == credit.currency
            and invoice.number not in self._offered
            and self._owed[invoice.number] > 0
            and credit.amount_minor in self._amounts(invoice)
            and names_close(credit.payer, invoice.client_name)
        ]
        if not candidates:
            return Match(Outcome.UNMATCHED, reason="no_match")
        chosen = candidates[0]  # the oldest due: what a payer most likely settles first
        self._offered.add(chosen.number)
        return Match(Outcome.OFFERED, ((chosen.number, credit.amount_minor),))

    def _amounts(self, invoice: OpenInvoice) -> set[int]:
        amounts = {self._owed[invoice.number]}
        if invoice.instalment_minor:
            amounts.add(invoice.instalment_minor)
        return amounts


def normalised_name(name: str) -> str:
    """Lower case, no accents, no punctuation, no legal form, words sorted."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(
        ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch)
    )
    words = [word for word in letters.split() if word not in LEGAL_FORMS]
    return " ".join(sorted(words))


def names_close(payer: str, client: str) -> bool:
    """Whether a statement's payer is plausibly the client: every word of the shorter name
    in the longer one ("Anna Nowak" paying for client "Nowak"), or nearly the same letters
    (a typo, a dropped letter). An empty payer is never close: amount alone is too weak."""
    a, b = normalised_name(payer), normalised_name(client)
    if not a or not b:
        return False
    words_a, words_b = set(a.split()), set(b.split())
    if words_a <= words_b or words_b <= words_a:
        return True
    return SequenceMatcher(None, a, b).ratio() >= NAME_SIMILARITY
