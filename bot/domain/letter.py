"""What a formal payment-demand letter (/letter) states, fixed on the day it was issued.

Kept apart from the PDF drawing (`messages.letter_pdf`), so the services can describe a
letter without loading fpdf: the PDF library is imported only when a letter is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class LetterContent:
    """Everything the letter states, fixed on the day it was issued."""

    locale: str
    business_name: str
    client_name: str
    number: int
    description: str
    currency: str
    issued_on: date
    due_date: date
    days_overdue: int
    amount_minor: int
    paid_minor: int
    fee_minor: int
    interest_minor: int
    due_now_minor: int
    interest_since: date | None  # set while interest is running on the invoice
    interest_percent: str | None  # yearly, simple
    deadline: date
    pay_link: str | None
    pay_instructions: str | None
    # i13c: the law of the owner's country (its legal terms; the language is the client's)
    law: str | None = None
    statutory: bool = False  # the interest follows the law's rate table
    rate_as_of: date | None = None  # the start of the statutory rate's current period
    rate_beyond_table: bool = False
    compensation_minor: int = 0

    @property
    def file_name(self) -> str:
        return f"letter-{self.number}.pdf"
