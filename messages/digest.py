"""The owner's daily digest: what happened yesterday and what waits today, one line each.

Each section is a heading and one rendered line per invoice, packed into as few messages
as fit Telegram's 4,096 characters: a long digest is split between lines, never cut.
Decisions waiting carry the buttons their alerts carry, each labelled with the invoice
number, on the last part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from bot.domain.digest import SECTIONS, DigestContent, DigestLine
from messages.keyboards import numbered_owner_buttons
from messages.render import join_within_limit, render

# Telegram takes at most 100 buttons on a message: up to three per decision.
MAX_DECISIONS_WITH_BUTTONS = 30

__all__ = ["DigestContent", "DigestLine", "Total", "compose_digest", "totals"]


@dataclass(frozen=True)
class Total:
    currency: str
    minor: int


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
