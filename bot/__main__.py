"""The `duebot` command (also `python -m bot`): run, migrate, preview, export, doctor, backup."""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.config import ConfigError, Settings, load_settings
from bot.db.migrate import upgrade_url
from bot.logs import configure_logging

log = logging.getLogger("duebot")

EXIT_CONFIG = 2
EXIT_DATABASE = 1


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="duebot",
        description="duebot: a Telegram bot that politely chases unpaid invoices. "
        "Configuration comes from the environment or .env (see .env.example).",
    )
    commands = main_parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="apply pending migrations and start the bot (the default)")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    preview = commands.add_parser(
        "preview",
        help="print an invoice's reminder schedule and messages (or a hypothetical one)",
    )
    preview.add_argument("number", nargs="?", type=int, help="invoice number, e.g. 3")
    preview.add_argument("--owner", type=int, help="owner's Telegram id (when there are several)")
    preview.add_argument("--amount", help="hypothetical invoice: amount, e.g. 1200")
    preview.add_argument(
        "--currency", help="hypothetical invoice: currency (default: DEFAULT_CURRENCY)"
    )
    preview.add_argument("--due", help="hypothetical invoice: due date, e.g. 2026-12-01")
    export = commands.add_parser(
        "export", help="write an owner's clients, invoices, payments and events as CSV files"
    )
    export.add_argument("--out", default=".", help="folder to write into (default: here)")
    export.add_argument("--owner", help="owner's Telegram id (when there are several)")
    commands.add_parser(
        "doctor",
        help="check the token, database, webhook, send window and payment settings; "
        "one line each, exit 1 if anything needs doing",
    )
    backup = commands.add_parser(
        "backup",
        help="write a consistent copy of the SQLite database, even while the bot runs "
        "(PostgreSQL: use pg_dump)",
    )
    backup.add_argument(
        "path", nargs="?", help="file to write (default: duebot-backup-<UTC time>.db here)"
    )
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"duebot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.telegram_bot_token.get_secret_value())
    # These two look at the database as it is: they must not change it.
    if args.command == "doctor":
        from bot.cli.doctor import doctor

        return doctor(settings)
    if args.command == "backup":
        from bot.cli.backup import backup

        return backup(settings, args.path)
    if not migrate(settings):
        return EXIT_DATABASE
    if args.command == "migrate":
        print("duebot: the database is up to date.")
        return 0
    if args.command == "preview":
        from bot.cli.preview import preview

        return preview(settings, args)
    if args.command == "export":
        from bot.cli.export import export

        return export(settings, args)
    from bot.cli.run import run

    return run(settings)


def migrate(settings: Settings) -> bool:
    try:
        upgrade_url(settings.database_url)
    except (SQLAlchemyError, OSError) as exc:
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        print(
            f"duebot: cannot migrate the database at DATABASE_URL={where}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            file=sys.stderr,
        )
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
