"""`duebot preview`: prints the schedule and each rendered reminder, sends nothing."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from decimal import InvalidOperation

from bot.cli.deps import offline_deps
from bot.cli.previewing import PreviewStep, hypothetical, preview_invoice
from bot.config import Settings
from bot.domain.invoice_input import InvoiceInputError, check_amount
from bot.domain.money import MoneyError, parse_amount
from bot.services.errors import Refused


def preview(settings: Settings, args: argparse.Namespace) -> int:
    try:
        steps = asyncio.run(_steps(settings, args))
    except (Refused, InvoiceInputError, MoneyError, InvalidOperation, ValueError) as exc:
        print(f"duebot preview: {_explain(exc)}", file=sys.stderr)
        return 2
    for step in steps:
        print(f"=== {step.stage} — {step.send_at:%Y-%m-%d %H:%M %Z}")
        print(step.text)
        print("[" + "] [".join(step.buttons) + "]")
        print()
    return 0


async def _steps(settings: Settings, args: argparse.Namespace) -> list[PreviewStep]:
    async with offline_deps(settings) as deps:
        if args.number is not None:
            return await preview_invoice(deps, args.number, args.owner)
        if not args.amount or not args.due:
            raise ValueError(
                "give an invoice number, or --amount and --due, e.g. "
                "duebot preview --amount 1200 --due 2026-12-01"
            )
        currency = (args.currency or settings.default_currency).upper()
        minor = check_amount(parse_amount(args.amount), currency)
        return hypothetical(deps, minor, currency, date.fromisoformat(args.due))


def _explain(exc: Exception) -> str:
    if isinstance(exc, Refused):
        if exc.code == "unknown_invoice":
            return f"there is no invoice #{exc.details['number']}"
        if not exc.details.get("count"):
            return "no owner has used the bot yet, so there are no invoices to preview"
        return "there are several owners; choose one with --owner <telegram id>"
    return str(exc) or type(exc).__name__
