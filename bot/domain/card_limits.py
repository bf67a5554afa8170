"""Which currencies and amounts a card payment can carry, and the sheet's payload.

Telegram Payments accept a fixed list of currencies, each with a smallest and a largest
amount (about US$1 to US$10,000, see https://core.telegram.org/bots/payments#supported-currencies
and its currencies.json). Only the common ones duebot's owners bill in are listed here, with
limits rounded inwards so that a rate moving a little never makes Telegram refuse a sheet;
outside the table the client gets the pay link or the instructions instead. Amounts are in
minor units, which for these currencies are the same in ISO 4217 and at Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass

TELEGRAM_LIMITS: dict[str, tuple[int, int]] = {
    "EUR": (100, 900_000),
    "USD": (100, 1_000_000),
    "GBP": (100, 750_000),
    "CHF": (100, 900_000),
    "PLN": (400, 3_800_000),
    "CZK": (2_500, 22_000_000),
    "SEK": (1_100, 10_000_000),
    "NOK": (1_100, 10_000_000),
    "DKK": (700, 6_500_000),
    "BRL": (600, 5_000_000),
    "RUB": (10_000, 80_000_000),
    "UAH": (4_200, 40_000_000),
    "CAD": (140, 1_350_000),
    "AUD": (160, 1_500_000),
    "JPY": (160, 1_500_000),
}

# Stripe Checkout's smallest charge is about US$0.50; its largest is far above any invoice.
STRIPE_MINIMUM_MINOR = 100


def telegram_accepts(currency: str, amount_minor: int) -> bool:
    limits = TELEGRAM_LIMITS.get(currency.upper())
    return limits is not None and limits[0] <= amount_minor <= limits[1]


@dataclass(frozen=True)
class SheetPayload:
    """What a payment sheet was opened for. Telegram hands it back unchanged with the
    pre-checkout query and the successful payment, so duebot can tell whether the invoice
    changed since: a payment recorded meanwhile moves `paid_minor`, a new fee or interest
    moves `amount_minor`."""

    invoice_id: int
    amount_minor: int
    paid_minor: int
    currency: str

    def encode(self) -> str:
        # Well under Telegram's 128 bytes: "d1:" + three integers + a currency code.
        return f"d1:{self.invoice_id}:{self.amount_minor}:{self.paid_minor}:{self.currency}"

    @classmethod
    def decode(cls, text: str) -> SheetPayload | None:
        parts = text.split(":")
        if len(parts) != 5 or parts[0] != "d1":
            return None
        numbers = parts[1:4]
        if not all(part.isdecimal() and len(part) <= 18 for part in numbers):
            return None
        if len(parts[4]) != 3 or not parts[4].isalpha():
            return None
        return cls(int(numbers[0]), int(numbers[1]), int(numbers[2]), parts[4].upper())
