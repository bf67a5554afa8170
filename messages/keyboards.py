"""Inline keyboards. Button labels come from templates like every other text."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from messages.callbacks import client_callback, owner_callback
from messages.render import render


def _label(name: str, locale: str, **data: object) -> str:
    return render(f"buttons/{name}", locale, **data)


def _pay_button(
    invoice_id: int, locale: str, pay_link: str | None, **data: object
) -> InlineKeyboardButton:
    label = _label("pay_now", locale, **data)
    if pay_link:
        return InlineKeyboardButton(label, url=pay_link)
    return InlineKeyboardButton(label, callback_data=client_callback("pay", invoice_id))


def invoice_answers(invoice_id: int, locale: str, pay_link: str | None) -> InlineKeyboardMarkup:
    """The five answers of SPEC §4 for one invoice."""
    return InlineKeyboardMarkup(
        [
            [
                _pay_button(invoice_id, locale, pay_link, number=None),
                InlineKeyboardButton(
                    _label("paid", locale, number=None),
                    callback_data=client_callback("paid", invoice_id),
                ),
            ],
            [
                InlineKeyboardButton(
                    _label("later", locale), callback_data=client_callback("later", invoice_id)
                ),
                InlineKeyboardButton(
                    _label("plan", locale), callback_data=client_callback("plan", invoice_id)
                ),
            ],
            [
                InlineKeyboardButton(
                    _label("problem", locale), callback_data=client_callback("problem", invoice_id)
                )
            ],
        ]
    )


def combined_answers(
    invoices: Sequence[tuple[int, int]], locale: str, pay_link: str | None
) -> InlineKeyboardMarkup:
    """Several invoices in one message: per invoice, pay / paid / more options."""
    rows = []
    for invoice_id, number in invoices:
        rows.append(
            [
                _pay_button(invoice_id, locale, pay_link, number=number),
                InlineKeyboardButton(
                    _label("paid", locale, number=number),
                    callback_data=client_callback("paid", invoice_id),
                ),
                InlineKeyboardButton(
                    _label("more", locale, number=number),
                    callback_data=client_callback("more", invoice_id),
                ),
            ]
        )
    return InlineKeyboardMarkup(rows)


def owner_buttons(locale: str, *buttons: tuple[str, int]) -> InlineKeyboardMarkup:
    """One row of owner actions, e.g. ("pause", invoice_id), ("card", invoice_id)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _label(f"owner_{action}", locale), callback_data=owner_callback(action, target)
                )
                for action, target in buttons
            ]
        ]
    )
