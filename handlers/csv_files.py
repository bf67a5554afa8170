"""/export and /import: CSV files out as documents, and CSV documents in.

A file is imported when it comes with the caption /import, right after /import (until
/cancel), or whenever an owner sends a .csv document. Strangers are refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from telegram import Document, Update
from telegram.ext import ApplicationHandlerStop, CommandHandler, MessageHandler, filters

from bot.domain.csv_format import (
    CLIENT_COLUMNS,
    INVOICE_COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    Problem,
)
from bot.services.imports import ImportRejected, ImportSummary
from handlers.common import (
    AWAITING,
    DOCUMENT_READERS,
    AnyApplication,
    Awaiting,
    Context,
    answers_text,
    owner_context,
    reply,
    reply_text,
    sender_locale,
    services,
    status_name,
)
from messages import render
from messages.render import MessageTooLong, fragment

IMPORT_CAPTION = r"^/import(@\w+)?(\s|$)"
CSV_TYPES = frozenset({"text/csv", "text/comma-separated-values", "application/csv", "text/x-csv"})
XML_TYPES = frozenset({"application/xml", "text/xml"})
LISTED_PROBLEMS = 20
AWAITING_IMPORT = "import"


async def export(update: Update, context: Context) -> None:
    user_id, display, locale = await owner_context(update, context)
    found = await services(context).exports.export(user_id, display)
    message = update.effective_message
    if not found.files or message is None:
        await reply(update, "owner/csv/export_empty", locale)
        return
    await reply(
        update,
        "owner/csv/export_intro",
        locale,
        day=found.today,
        client_count=found.count("clients.csv"),
        invoice_count=found.count("invoices.csv"),
        payment_count=found.count("payments.csv"),
        event_count=found.count("events.csv"),
    )
    for file in found.files:
        await message.reply_document(file.content, filename=file.name)


async def ask_for_file(update: Update, context: Context) -> None:
    _, _, locale = await owner_context(update, context)
    assert context.user_data is not None
    context.user_data[AWAITING] = Awaiting(AWAITING_IMPORT, 0)
    await reply(
        update,
        "owner/csv/import_ask",
        locale,
        client_columns=[column.name for column in CLIENT_COLUMNS if column.imported],
        invoice_columns=[column.name for column in INVOICE_COLUMNS if column.imported],
        max_rows=MAX_ROWS,
        max_megabytes=MAX_FILE_BYTES // (1024 * 1024),
    )


def awaiting_import(context: Context) -> bool:
    awaiting = context.user_data.get(AWAITING) if context.user_data is not None else None
    return isinstance(awaiting, Awaiting) and awaiting.kind == AWAITING_IMPORT


def looks_like_csv(document: Document) -> bool:
    name = (document.file_name or "").lower()
    return name.endswith(".csv") or (document.mime_type or "").lower() in CSV_TYPES


def looks_like_xml(document: Document) -> bool:
    """A CAMT.053 bank statement (handlers.bank takes it from here)."""
    name = (document.file_name or "").lower()
    return name.endswith(".xml") or (document.mime_type or "").lower() in XML_TYPES


async def on_document(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or message.document is None:
        return
    user_id, display, locale = await owner_context(update, context)
    asked = awaiting_import(context) or re.match(IMPORT_CAPTION, message.caption or "")
    if not asked and not looks_like_csv(message.document) and not looks_like_xml(message.document):
        await reply(update, "owner/csv/import_hint", locale)
        return
    if context.user_data is not None:
        context.user_data.pop(AWAITING, None)
    size = message.document.file_size or 0
    if size > MAX_FILE_BYTES:
        await reply_problems(
            update, locale, [Problem(0, "too_large", limit=MAX_FILE_BYTES // (1024 * 1024))]
        )
        return
    upload = await context.bot.get_file(message.document.file_id)
    data = bytes(await upload.download_as_bytearray())
    for accepts, reader in DOCUMENT_READERS:  # a bank statement, say (issue 16)
        if accepts(data):
            await reader(update, context, data, (user_id, display, locale))
            return
    try:
        summary = await services(context).imports.import_csv(user_id, display, data)
    except ImportRejected as rejected:
        await reply_problems(update, locale, rejected.problems)
        return
    await reply_summary(update, locale, summary)


async def reply_problems(update: Update, locale: str, problems: Sequence[Problem]) -> None:
    for listed in (LISTED_PROBLEMS, LISTED_PROBLEMS // 2, 3):
        # Each line is already rendered (and escaped) HTML: kept as it is, not escaped twice.
        lines = [
            fragment("owner/csv/import_problem", locale, problem=problem)
            for problem in problems[:listed]
        ]
        try:
            text = render(
                "owner/csv/import_errors",
                locale,
                problems=lines,
                count=len(problems),
                more=max(len(problems) - listed, 0),
            )
        except MessageTooLong:
            continue  # long values quoted back: list fewer
        await reply_text(update, text)
        return


async def reply_summary(update: Update, locale: str, summary: ImportSummary) -> None:
    await reply(
        update,
        "owner/csv/import_done",
        locale,
        kind=str(summary.kind),
        clients_added=summary.clients_added,
        clients_existing=summary.clients_existing,
        invoice_count=summary.invoices_added,
        statuses=[
            (status_name(status, locale), count) for status, count in summary.invoices_by_status
        ],
        reminded=summary.reminded,
        waiting=summary.waiting,
        unlinked=summary.unlinked_clients,
    )


async def cancel(update: Update, context: Context) -> None:
    """/cancel while a file is awaited leaves the import (and nothing else sees it)."""
    if not awaiting_import(context):
        return  # the dialog's /cancel, or "nothing to cancel", answers
    assert context.user_data is not None
    context.user_data.pop(AWAITING, None)
    _, _, locale = await owner_context(update, context)
    await reply(update, "owner/csv/import_cancelled", locale)
    raise ApplicationHandlerStop


async def refuse(update: Update, context: Context) -> None:
    await reply(update, "common/not_owner", sender_locale(update, context))


async def import_waiting(update: Update, context: Context, awaiting: Awaiting, text: str) -> None:
    """/import waits for a document; text gets a reminder."""
    _, _, locale = await owner_context(update, context)
    await reply(update, "owner/csv/import_waiting", locale)


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    answers_text(("import",), import_waiting)
    app.add_handler(CommandHandler("export", export, filters=is_owner))
    app.add_handler(CommandHandler("import", ask_for_file, filters=is_owner))
    documents = filters.Document.ALL & filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(documents & is_owner, on_document))
    app.add_handler(
        MessageHandler(documents & ~is_owner & filters.CaptionRegex(IMPORT_CAPTION), refuse)
    )
    # Before the dialog's own /cancel (group 0), which would answer "nothing to cancel".
    app.add_handler(CommandHandler("cancel", cancel, filters=is_owner), group=-1)
