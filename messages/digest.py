"""The owner's daily digest: what happened yesterday and what waits today, one line each.

Each section is a heading and one rendered line per invoice, packed into as few messages
as fit Telegram's 4,096 characters: a long digest is split between lines, never cut.
Decisions waiting carry the buttons their alerts carry, each labelled with the invoice
number, on the last part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from telegram import InlineKeyboardMarkup

from messages.keyboards import numbered_owner_buttons
from messages.render import join_within_limit, render

# The order the owner reads them in: what happened, then what needs them today.
SECTIONS = ("decisions", "promises", "overdue", "payments", "reminders")
# Telegram takes at most 100 buttons on a message: up to three per decision.
MAX_DECISIONS_WITH_BUTTONS = 30


@dataclass(frozen=True)
class DigestLine:
    number: int
    client_name: str
    amount_minor: int = 0  # outstanding, or the payment / the claimed amount
    currency: str = ""
    stage: str = ""  # reminders: the stage that went out
    kind: str = ""  # decisions: the invoice status; payments: how the money came
    reason: str = ""  # disputes: the client's reason
    parts: int = 0  # plan proposals: how many instalments
    actions: tuple[str, ...] = field(default=())  # decisions: the alert's owner buttons


@dataclass(frozen=True)
class Total:
    currency: str
    minor: int


@dataclass(frozen=True)
class DigestContent:
    today: date
    reminders: tuple[DigestLine, ...] = ()
    payments: tuple[DigestLine, ...] = ()
    promises: tuple[DigestLine, ...] = ()
    decisions: tuple[DigestLine, ...] = ()
    overdue: tuple[DigestLine, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(getattr(self, section) for section in SECTIONS)


def totals(lines: Sequence[DigestLine]) -> list[Total]:
    sums: dict[str, int] = {}
    for line in lines:
        sums[line.currency] = sums.get(line.currency, 0) + line.amount_minor
    return [Total(currency, minor) for currency, minor in sorted(sums.items())]


def _line_template(section: str) -> str:
    return f"owner/digest/{section.rstrip('s')}_line"


def compose_digest(
    content: DigestContent, locale: str
) -> tuple[list[str], InlineKeyboardMarkup | None]:
    pieces = [render("owner/digest/header", locale, day=content.today)]
    for section in SECTIONS:
        lines: tuple[DigestLine, ...] = getattr(content, section)
        if not lines:
            continue
        heading = render(
            f"owner/digest/{section}", locale, count=len(lines), digest_totals=totals(lines)
        )
        pieces.append(f"\n{heading}")
        pieces.extend(render(_line_template(section), locale, digest_line=line) for line in lines)
        if section == "decisions" and len(lines) > MAX_DECISIONS_WITH_BUTTONS:
            pieces.append(
                render(
                    "owner/digest/more_decisions",
                    locale,
                    limit=MAX_DECISIONS_WITH_BUTTONS,
                    more=len(lines) - MAX_DECISIONS_WITH_BUTTONS,
                )
            )
    parts = [part.strip() for part in join_within_limit(pieces)]
    decisions = content.decisions[:MAX_DECISIONS_WITH_BUTTONS]
    keyboard = (
        numbered_owner_buttons(locale, [(line.number, line.actions) for line in decisions])
        if decisions
        else None
    )
    return parts, keyboard
