"""Inline keyboards. Button labels come from templates like every other text."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Protocol

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from messages.callbacks import client_callback, owner_callback, parse_callback
from messages.render import plain


def _label(name: str, locale: str, **data: str | int | None) -> str:
    return _rendered_label(name, locale, tuple(sorted(data.items())))


@functools.lru_cache(maxsize=4096)
def _rendered_label(name: str, locale: str, data: tuple[tuple[str, str | int | None], ...]) -> str:
    """Labels are the same for every message in a language (a tick renders thousands)."""
    return plain(f"buttons/{name}", locale, **dict(data))


def _pay_button(
    invoice_id: int, locale: str, pay_link: str | None, **data: str | int | None
) -> InlineKeyboardButton:
    label = _label("pay_now", locale, **data)
    if pay_link:
        return InlineKeyboardButton(label, url=pay_link)
    return InlineKeyboardButton(label, callback_data=client_callback("pay", invoice_id))


def document_button(invoice_id: int, locale: str, number: int | None) -> InlineKeyboardButton:
    """📄: the owner's own invoice document, sent again to whoever presses it."""
    return InlineKeyboardButton(
        _label("document", locale, number=number), callback_data=client_callback("doc", invoice_id)
    )


def invoice_answers(
    invoice_id: int, locale: str, pay_link: str | None, *, document: bool = False
) -> InlineKeyboardMarkup:
    """The five answers of SPEC §4 for one invoice (and 📄 when a document is attached)."""
    extra = [[document_button(invoice_id, locale, None)]] if document else []
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
            *extra,
        ]
    )


def combined_answers(
    invoices: Sequence[tuple[int, int, str | None]],
    locale: str,
    documents: Sequence[tuple[int, int]] = (),
) -> InlineKeyboardMarkup:
    """Several invoices in one message: per invoice, pay / paid / more options; then a 📄
    per invoice (id, number) whose document the owner attached."""
    rows = []
    for invoice_id, number, pay_link in invoices:
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
    papers = [document_button(invoice_id, locale, number) for invoice_id, number in documents]
    rows += [papers[i : i + 3] for i in range(0, len(papers), 3)]
    return InlineKeyboardMarkup(rows)


def owner_buttons(locale: str, *buttons: tuple[str, int]) -> InlineKeyboardMarkup:
    """Owner actions, e.g. ("pause", number), ("card", number); three to a row."""
    row = [
        InlineKeyboardButton(
            _label(f"owner_{action}", locale), callback_data=owner_callback(action, target)
        )
        for action, target in buttons
    ]
    return InlineKeyboardMarkup([row[i : i + 3] for i in range(0, len(row), 3)])


def numbered_owner_buttons(
    locale: str, rows: Sequence[tuple[int, Sequence[str]]]
) -> InlineKeyboardMarkup:
    """Owner actions for several invoices in one message (the daily digest): a row per
    invoice number, each label led by its number so that no press is ambiguous."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"#{number} {_label(f'owner_{action}', locale)}",
                    callback_data=owner_callback(action, number),
                )
                for action in actions
            ]
            for number, actions in rows
        ]
    )


class NamedContact(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


def with_contact_buttons(
    keyboard: InlineKeyboardMarkup, contacts: Sequence[NamedContact], locale: str
) -> InlineKeyboardMarkup:
    """A client card's keyboard with a ✖ button per contact (one row each)."""
    rows = [list(row) for row in keyboard.inline_keyboard]
    for number, contact in enumerate(contacts, start=1):
        label = plain("buttons/owner_rmcontact", locale, name=contact.name or f"#{number}")
        rows.append(
            [
                InlineKeyboardButton(
                    label[:64], callback_data=owner_callback("rmcontact", contact.id)
                )
            ]
        )
    return InlineKeyboardMarkup(rows)


def _button(label: str, action: str, invoice_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=client_callback(action, invoice_id))


def later_menu(invoice_id: int, locale: str) -> InlineKeyboardMarkup:
    presets = [
        _button(_label("later_days", locale, days=days), f"l{days}", invoice_id)
        for days in (3, 7, 14)
    ]
    return InlineKeyboardMarkup(
        [presets, [_button(_label("later_date", locale), "ldate", invoice_id)]]
    )


def plan_menu(invoice_id: int, locale: str) -> InlineKeyboardMarkup:
    monthly = [
        _button(_label("plan_months", locale, count=count), f"p{count}", invoice_id)
        for count in (2, 3, 4, 6)
    ]
    return InlineKeyboardMarkup(
        [monthly[:2], monthly[2:], [_button(_label("plan_part", locale), "ppart", invoice_id)]]
    )


def problem_menu(invoice_id: int, locale: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [_button(_label(f"reason_{code}", locale), f"r{code}", invoice_id)]
            for code in ("nd", "q", "amt", "oth")
        ]
    )


def skip_details(invoice_id: int, reason_code: str, locale: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_button(_label("skip_details", locale), f"s{reason_code}", invoice_id)]]
    )


def chosen(label: str, invoice_id: int) -> InlineKeyboardMarkup:
    """What a keyboard becomes once a choice is made: the choice, shown, inert."""
    return InlineKeyboardMarkup([[_button(f"✓ {label}", "noop", invoice_id)]])


def owner_chosen(
    label: str, number: int, current: InlineKeyboardMarkup | None = None
) -> InlineKeyboardMarkup:
    """The owner's choice on invoice #number, shown and inert. On a message about several
    invoices (the daily digest) only that invoice's row changes: the rest still work."""
    done = [InlineKeyboardButton(f"✓ {label}", callback_data=owner_callback("card", number))]
    if current is None:
        return InlineKeyboardMarkup([done])
    rows: list[list[InlineKeyboardButton]] = []
    for row in current.inline_keyboard:
        if {_owner_target(button) for button in row} != {number}:
            rows.append(list(row))
        elif done not in rows:
            rows.append(done)
    return InlineKeyboardMarkup(rows if done in rows else [done])


def _owner_target(button: InlineKeyboardButton) -> int | None:
    callback = parse_callback(
        button.callback_data if isinstance(button.callback_data, str) else None
    )
    return callback.target if callback is not None and callback.side == "o" else None
