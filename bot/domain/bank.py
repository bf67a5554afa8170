"""Bank transfers: the owner's account (IBAN checked with schwifty), the reference a
transfer carries, and the SEPA QR code (EPC069-12, "GiroCode") that banking apps read.

The QR code is made by segno's EPC helper, which validates and lays out the payload;
nothing here encodes QR by hand.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal

from segno import helpers as segno_helpers

# EPC069-12 limits: beneficiary name at most 70 characters, amount 0.01 to 999,999,999.99.
MAX_HOLDER = 70
EPC_MIN = Decimal("0.01")
EPC_MAX = Decimal("999999999.99")
REFERENCE_PREFIX = "DUE-"
# DUE-<n> anywhere in a remittance text, as a client's bank may pass it on: any case,
# "DUE 12", "due-0012", glued to other words ("RE:DUE-12/2026"), never inside a longer number.
REFERENCE_PATTERN = re.compile(r"(?<![A-Z0-9])DUE[\s\-_/.:#]*0*(\d{1,9})(?!\d)", re.IGNORECASE)


class BankAccountError(ValueError):
    """What was typed isn't a usable account; `code` says which part is wrong."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class BankAccount:
    iban: str  # compact, upper case
    bic: str | None
    holder: str

    @property
    def iban_grouped(self) -> str:
        """In groups of four, as people copy it."""
        return " ".join(self.iban[i : i + 4] for i in range(0, len(self.iban), 4))


def parse_bank_account(words: list[str]) -> BankAccount:
    """`<IBAN> [BIC] <account holder>`: the IBAN may be typed in groups of four.

    The IBAN is every leading word that still reads as part of one (two letters, two check
    digits, then letters and digits); a following 8- or 11-character word that is a valid
    BIC for a bank is the BIC; the rest is the holder's name.
    """
    # schwifty loads its bank registry on import: only a bot whose owner sets an account
    # pays for it, and only then (a tenth of every start-up otherwise).
    from schwifty import BIC, IBAN
    from schwifty.exceptions import SchwiftyException

    if not words:
        raise BankAccountError("missing")
    iban_text, rest = _take_iban(words)
    try:
        iban = IBAN(iban_text)
    except SchwiftyException:
        raise BankAccountError("bad_iban") from None
    bic: str | None = None
    if rest and len(rest[0]) in (8, 11) and rest[0].isalnum() and len(rest) > 1:
        try:
            bic = BIC(rest[0]).compact
            rest = rest[1:]
        except SchwiftyException:
            if rest[0].isupper():  # looks meant as a BIC: say so rather than take it as a name
                raise BankAccountError("bad_bic") from None
    holder = " ".join(rest).strip()
    if not holder:
        raise BankAccountError("missing_holder")
    if len(holder) > MAX_HOLDER:
        raise BankAccountError("holder_too_long")
    return BankAccount(iban.compact, bic, holder)


def _take_iban(words: list[str]) -> tuple[str, list[str]]:
    first = words[0].replace("-", "")
    taken = 1
    # "DE89 3704 0044 0532 0130 00": keep taking short groups while the IBAN is incomplete.
    while (
        taken < len(words)
        and len(first) < 34
        and len(words[taken]) <= 4
        and words[taken].isalnum()
        and any(ch.isdigit() for ch in words[taken])
    ):
        first += words[taken]
        taken += 1
    return first.upper(), words[taken:]


def transfer_reference(number: int) -> str:
    """What every transfer for invoice #n should carry, and what statements are matched by."""
    return f"{REFERENCE_PREFIX}{number}"


def references_in(text: str) -> list[int]:
    """The invoice numbers a remittance text refers to, in order, each once."""
    seen: list[int] = []
    for match in REFERENCE_PATTERN.finditer(text):
        number = int(match.group(1))
        if number > 0 and number not in seen:
            seen.append(number)
    return seen


def epc_payload_fits(amount: Decimal) -> bool:
    return EPC_MIN <= amount <= EPC_MAX


def epc_qr_png(account: BankAccount, amount: Decimal, reference: str, *, scale: int = 6) -> bytes:
    """The GiroCode as a PNG: service tag BCD, version 002, UTF-8 (charset 1), SCT, the BIC
    (optional in version 002), beneficiary, IBAN, EUR amount, no purpose, and `reference` as
    the unstructured remittance, where every bank app shows it and passes it on.

    An ISO 11649 "RF" creditor reference was not chosen: DUE-<n> is what the reminder text
    shows and what a client who types the transfer by hand writes, so one reference works
    for both, and the statement matcher reads it from either remittance field.
    """
    qr = segno_helpers.make_epc_qr(
        name=account.holder,
        iban=account.iban,
        amount=amount,
        text=reference,
        bic=account.bic,
        encoding="utf-8",
    )
    out = io.BytesIO()
    # A quiet zone of 4 modules and a scale banking apps read easily from a phone screen.
    qr.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
