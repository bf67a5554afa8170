"""The law of the owner's country applied to one invoice: statutory interest at the
period rates, and the fixed recovery compensation (SPEC §3 `country`, `interest
statutory`, `compensation on`). The figures live in bot.domain.statutory."""

from __future__ import annotations

from datetime import date

from bot.db.tables import Invoice, Owner
from bot.domain.statutory import Compensation, Law, Rate, compensation_for, law_for
from bot.domain.statutory import rate_for_invoice as _rate_for_invoice


def statutory_law(owner: Owner) -> Law | None:
    """The law whose rates the owner's interest follows, when `interest statutory` is on."""
    return law_for(owner.country) if owner.interest_statutory else None


def interest_enabled(owner: Owner) -> bool:
    return bool(owner.interest_percent) or statutory_law(owner) is not None


def upcoming_interest_percent(owner: Owner, invoice: Invoice, starts: date) -> str | None:
    """The annual rate a reminder announces for interest that starts on `starts`."""
    law = statutory_law(owner)
    if law is None:
        return owner.interest_percent
    return str(_rate_for_invoice(law, invoice.due_date, starts).annual_percent)


def running_rate(invoice: Invoice, today: date) -> Rate | None:
    """The statutory rate the invoice bears today, when its interest follows a table."""
    law = law_for(invoice.interest_law)
    if law is None or invoice.interest_since is None:
        return None
    return _rate_for_invoice(law, invoice.due_date, today)


def compensation(owner: Owner, invoice: Invoice) -> Compensation | None:
    """The compensation this invoice would get, when the owner turned it on and the law
    gives one in the invoice's currency; None once it has been added."""
    law = law_for(owner.country)
    if not owner.compensation or law is None or invoice.compensation_minor:
        return None
    return compensation_for(law, invoice.amount_minor, invoice.currency, invoice.due_date)
