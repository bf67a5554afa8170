"""Bank transfer details a reminder carries (SPEC §10): the text for copying, and for EUR
the SEPA QR code (EPC069-12) that a banking app reads.

A combined reminder (several invoices) gets ONE QR code for all its EUR invoices at once:
the sum of what each is due now, with every reference (`DUE-3 DUE-7`) in the remittance
text. An EPC code holds one amount and one remittance field, and the combined reminder
asks for all of them, so the one scan that settles everything is the useful one; the
statement matcher records such a transfer against each invoice when its amount is exactly
their sum. The text lists each invoice's own amount and reference, for a client who pays
them one by one. Other currencies get the text only (SEPA QR codes are EUR only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.bank import BankAccount, epc_payload_fits, epc_qr_png, transfer_reference
from bot.domain.money import from_minor
from messages.reminders import ReminderItem
from messages.render import render

EPC_CURRENCY = "EUR"
MAX_REMITTANCE = 140  # EPC069-12: unstructured remittance, at most 140 characters


@dataclass(frozen=True)
class TransferNote:
    text: str  # goes under the reminder text
    qr_png: bytes | None  # EUR only
    qr_caption: str  # the photo's own caption when the reminder text is too long for it


@dataclass(frozen=True)
class TransferLine:
    number: int
    reference: str
    amount_minor: int
    currency: str


def stated_due_minor(item: ReminderItem) -> int:
    """What the reminder asks for now: the instalment's amount for a plan, else the amount
    due now (fee and interest included) — the same figure the reminder's text states."""
    if item.instalment is not None:
        return item.instalment.amount_minor
    return item.money.due_now_minor or item.amount_minor


def transfer_note(items: Sequence[ReminderItem], account: BankAccount, locale: str) -> TransferNote:
    lines = [
        TransferLine(
            item.number, transfer_reference(item.number), stated_due_minor(item), item.currency
        )
        for item in items
    ]
    in_qr = _qr_lines(lines)
    qr_png = None
    qr_total = sum(line.amount_minor for line in in_qr)
    qr_reference = " ".join(line.reference for line in in_qr)
    if in_qr and epc_payload_fits(from_minor(qr_total, EPC_CURRENCY)):
        qr_png = epc_qr_png(account, from_minor(qr_total, EPC_CURRENCY), qr_reference)
    else:
        in_qr = []
    data = {
        "account": account,
        "lines": lines,
        "qr": bool(in_qr),
        "qr_numbers": [line.number for line in in_qr],
        "qr_total": qr_total,
        "qr_reference": qr_reference,
    }
    return TransferNote(
        render("client/transfer", locale, **data),
        qr_png,
        render("client/transfer_caption", locale, **data),
    )


def _qr_lines(lines: list[TransferLine]) -> list[TransferLine]:
    """The EUR invoices the QR code pays, as many as their references fit in 140 characters
    (the reminder's order: the oldest first)."""
    chosen: list[TransferLine] = []
    length = -1
    for line in lines:
        if line.currency != EPC_CURRENCY or line.amount_minor <= 0:
            continue
        if length + 1 + len(line.reference) > MAX_REMITTANCE:
            break
        chosen.append(line)
        length += 1 + len(line.reference)
    return chosen
