"""`duebot export`: the same CSV files as /export, written into a folder."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.deps import offline_deps
from bot.config import Settings
from bot.services.errors import Refused
from bot.services.exports import Export, ExportService

EXIT_USAGE = 2


def export(settings: Settings, args: argparse.Namespace) -> int:
    out = Path(args.out)
    owner: int | None = None
    if args.owner is not None:
        if not str(args.owner).strip().isdigit():
            return _usage(f"--owner must be a numeric Telegram user id, not {args.owner!r}")
        owner = int(args.owner)
    if out.exists() and not out.is_dir():
        return _usage(f"--out {out} is a file, not a folder")
    try:
        found = asyncio.run(_export(settings, owner))
    except Refused as refusal:
        return _usage(_explain(refusal))
    if not found.files:
        print("duebot export: that owner has no clients yet, so there is nothing to export.")
        return 0
    try:
        out.mkdir(parents=True, exist_ok=True)
        for file in found.files:
            (out / file.name).write_bytes(file.content)
    except OSError as exc:
        return _usage(f"cannot write into {out}: {exc.strerror or exc}")
    for file in found.files:
        print(f"duebot export: wrote {out / file.name} ({file.rows} rows)")
    return 0


async def _export(settings: Settings, owner: int | None) -> Export:
    async with offline_deps(settings) as deps:
        return await ExportService(deps).export_for(owner)


def _explain(refusal: Refused) -> str:
    if refusal.code == "unknown_owner":
        return f"no owner with Telegram id {refusal.details['owner']} has used the bot yet"
    if not refusal.details.get("count"):
        return "no owner has used the bot yet, so there is nothing to export"
    return "there are several owners; choose one with --owner <telegram id>"


def _usage(message: str) -> int:
    print(f"duebot export: {message}", file=sys.stderr)
    return EXIT_USAGE
