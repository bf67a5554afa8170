"""Callback data, the one scheme of every button: short text `<side>:<action>:<id>`, well
inside Telegram's 64 bytes. Sides: `c` a client's answers, `o` the owner's buttons, `d`
the /newinvoice dialog's steps, `bank` a bank statement line's match.

Parsed and checked on arrival; anything that does not parse is treated as stale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_CALLBACK_BYTES = 64
MAX_TARGET = 2**31 - 1

# Client buttons on reminders (SPEC §4).
CLIENT_ACTIONS = (
    "pay",
    "paid",
    "later",
    "plan",
    "problem",
    "more",
    "noop",
    "doc",  # 📄: the owner's own invoice document (/attach), sent again
    # Pay later: presets and "another date"
    "l3",
    "l7",
    "l14",
    "ldate",
    # Payment plan: monthly instalments or part now
    "p2",
    "p3",
    "p4",
    "p6",
    "ppart",
    # Problem with the work: a reason, then details or skip
    "rnd",
    "rq",
    "ramt",
    "roth",
    "snd",
    "sq",
    "samt",
    "soth",
)
# Owner buttons on alerts and cards (targets are per-owner invoice numbers, or client ids).
OWNER_ACTIONS = (
    "pause",
    "resume",
    "remind",
    "card",
    "invite",
    "invitemore",  # the client card: a link for one more contact (target: client number)
    "rmcontact",  # the client card: remove a contact (target: contact id)
    "confirm",
    "notrecv",
    "accept",
    "decline",
    "resolve",
    "adjust",
    "cancelinv",
    "offerplan",
    "endplan",
    "pauseall",
    "unpauseall",
    "block",
    "unblock",
    # /settings: ask for a field, pick a language; client card: language and time zone
    *(f"set{field}" for field in ("name", "language", "timezone", "currency", "paylink")),
    *(f"set{field}" for field in ("instructions", "hours", "days", "holidays", "ladder")),
    *(f"set{field}" for field in ("ignored", "invitedays")),
    "setnextstep",
    *(f"set{field}" for field in ("latefee", "interest", "settlement", "earlydiscount")),
    "setnotify",  # i17: the new-invoice notice on / off (a toggle)
    "setiban",  # bank transfers: IBAN, BIC, account holder
    "setdigest",  # issue 17: the owner's daily digest
    *(f"set{field}" for field in ("country", "compensation")),  # i13c: the law's country
    *(f"lang{code}" for code in ("en", "pt", "ru", "pl")),
    "clang",
    "ctz",
    *(f"cl{code}" for code in ("en", "pt", "ru", "pl", "def")),
    # /letter: send the reviewed letter on to the client (target: letter id)
    "sendletter",
    # /forget: confirm or keep (target: client id)
    "forgetyes",
    "forgetno",
)
# Families of client buttons, each routed to its handler by `pattern`: the answers of
# SPEC §4 (handlers.buttons), and 📄 the owner's document (handlers.documents).
DOCUMENT_ACTIONS = ("doc",)
ANSWER_ACTIONS = tuple(a for a in CLIENT_ACTIONS if a not in DOCUMENT_ACTIONS)
# Families of owner buttons, each routed to its handler by `pattern` (handlers register
# one CallbackQueryHandler per family; a press matching none is stale).
INVOICE_ACTIONS = ("card", "pause", "resume", "remind", "adjust", "offerplan")
DECISION_ACTIONS = ("confirm", "notrecv", "accept", "decline", "resolve", "cancelinv", "endplan")
CLIENT_ACTIONS_OF_OWNER = ("invite", "pauseall", "unpauseall", "block", "unblock")
CONTACT_ACTIONS = ("invitemore", "rmcontact")  # a client card's contacts (issue 17)
SETTINGS_ACTIONS = tuple(a for a in OWNER_ACTIONS if a.startswith(("set", "lang", "cl", "ctz")))
FORGET_ACTIONS = ("forgetyes", "forgetno")
LETTER_ACTIONS = ("sendletter",)
# /newinvoice step by step: pick a client (id), a due date (in days), skip the description.
DIALOG_ACTIONS = ("client", "due", "skip")
# A bank statement line's doubtful match: confirm or skip (target: the line's id).
BANK_ACTIONS = ("ok", "skip")
REASON_CODES = {"nd": "not_delivered", "q": "quality", "amt": "wrong_amount", "oth": "other"}


@dataclass(frozen=True)
class Callback:
    side: str  # "c" client, "o" owner
    action: str
    target: int

    def encode(self) -> str:
        data = f"{self.side}:{self.action}:{self.target}"
        assert len(data.encode()) <= MAX_CALLBACK_BYTES
        return data


def client_callback(action: str, invoice_id: int) -> str:
    assert action in CLIENT_ACTIONS
    return Callback("c", action, invoice_id).encode()


def owner_callback(action: str, target: int) -> str:
    assert action in OWNER_ACTIONS
    return Callback("o", action, target).encode()


def dialog_callback(action: str, target: int) -> str:
    assert action in DIALOG_ACTIONS
    return Callback("d", action, target).encode()


def bank_callback(action: str, line_id: int) -> str:
    assert action in BANK_ACTIONS
    return Callback("bank", action, line_id).encode()


SIDES: dict[str, tuple[str, ...]] = {
    "c": CLIENT_ACTIONS,
    "o": OWNER_ACTIONS,
    "d": DIALOG_ACTIONS,
    "bank": BANK_ACTIONS,
}


def parse_callback(data: str | None) -> Callback | None:
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    parts = data.split(":")
    # isdecimal, not isdigit ("²" is a digit int() cannot read); and no id past what an
    # INTEGER column holds: looking one up would overflow the query, not find nothing.
    if len(parts) != 3 or not parts[2].isdecimal() or int(parts[2]) > MAX_TARGET:
        return None
    side, action, target = parts
    if action not in SIDES.get(side, ()):
        return None
    return Callback(side, action, int(target))


def pattern(side: str, actions: Iterable[str]) -> str:
    """A CallbackQueryHandler pattern for one family of buttons: `<side>:<action>:<id>`."""
    alternatives = "|".join(sorted((re.escape(a) for a in actions), key=len, reverse=True))
    return rf"^{side}:({alternatives}):\d{{1,10}}$"
