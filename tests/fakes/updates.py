"""Build Telegram updates the way Telegram would send them, and feed them to the app."""

from __future__ import annotations

import itertools
from typing import Any

from telegram import Update
from telegram.ext import Application

from tests.fakes.bot_api import BOT_ID, FAKE_DATE

_update_ids = itertools.count(1)
_message_ids = itertools.count(10_000)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def user(user_id: int, first_name: str = "Ann", language_code: str | None = "en") -> dict[str, Any]:
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        data["language_code"] = language_code
    return data


def message_update(
    user_id: int,
    text: str,
    *,
    first_name: str = "Ann",
    language_code: str | None = "en",
    group_id: int | None = None,
    reply_to: int | None = None,
) -> dict[str, Any]:
    """A message in the user's private chat with the bot, or in the group `group_id`;
    with `reply_to`, a reply to the bot's message of that id in the same chat."""
    chat = _chat(user_id, first_name, group_id)
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": FAKE_DATE,
        "chat": chat,
        "from": user(user_id, first_name, language_code),
        "text": text,
    }
    if reply_to is not None:
        message["reply_to_message"] = _bot_message(reply_to, chat)
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": next(_update_ids), "message": message}


def _chat(user_id: int, first_name: str, group_id: int | None) -> dict[str, Any]:
    if group_id is not None:
        return {"id": group_id, "type": "supergroup", "title": "Team"}
    return {"id": user_id, "type": "private", "first_name": first_name}


def _bot_message(message_id: int, chat: dict[str, Any], text: str = "reminder") -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": FAKE_DATE,
        "chat": chat,
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "duebot"},
        "text": text,
    }


async def send_text(app: AnyApplication, user_id: int, text: str, **kwargs: Any) -> None:
    update = Update.de_json(message_update(user_id, text, **kwargs), app.bot)
    await app.process_update(update)


def document_update(
    user_id: int,
    file_id: str,
    file_name: str,
    *,
    mime_type: str = "text/csv",
    caption: str | None = None,
    file_size: int = 0,
) -> dict[str, Any]:
    """A message carrying a file the user uploaded (host the content with
    `FakeBotApi.host_file` first to get the file_id)."""
    update = message_update(user_id, "")
    message = update["message"]
    del message["text"]
    message["document"] = {
        "file_id": file_id,
        "file_unique_id": f"u-{file_id}",
        "file_name": file_name,
        "mime_type": mime_type,
        "file_size": file_size,
    }
    if caption is not None:
        message["caption"] = caption
        if caption.startswith("/"):
            command = caption.split()[0]
            message["caption_entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command)}
            ]
    return update


async def send_document(
    app: AnyApplication, user_id: int, file_id: str, file_name: str, **kwargs: Any
) -> None:
    update = Update.de_json(document_update(user_id, file_id, file_name, **kwargs), app.bot)
    await app.process_update(update)


def callback_update(
    update_id: int,
    user_id: int,
    data: str | None,
    *,
    message_id: int = 5,
    language_code: str | None = None,
    first_name: str = "X",
    group_id: int | None = None,
) -> dict[str, Any]:
    """A tap on an inline button under one of the bot's messages, as Telegram sends it:
    in the user's private chat, or in the group `group_id`."""
    sender = user(user_id, first_name, language_code)
    chat = _chat(user_id, first_name, group_id)
    query: dict[str, Any] = {
        "id": f"cb-{update_id}",
        "from": sender,
        "chat_instance": "1" if group_id is None else "2",
        "message": _bot_message(message_id, chat),
    }
    if data is not None:
        query["data"] = data
    return {"update_id": update_id, "callback_query": query}


def pre_checkout_update(
    update_id: int, user_id: int, payload: str, total_amount: int, currency: str
) -> dict[str, Any]:
    """Telegram asks the bot to confirm a payment sheet before charging."""
    return {
        "update_id": update_id,
        "pre_checkout_query": {
            "id": f"pcq-{update_id}",
            "from": user(user_id),
            "currency": currency,
            "total_amount": total_amount,
            "invoice_payload": payload,
        },
    }


def successful_payment_update(
    update_id: int,
    user_id: int,
    payload: str,
    total_amount: int,
    currency: str,
    charge_id: str,
    provider_charge_id: str = "pi_provider_1",
) -> dict[str, Any]:
    """The service message Telegram sends once the card was charged."""
    update = message_update(user_id, "")
    update["update_id"] = update_id
    message = update["message"]
    del message["text"]
    message["successful_payment"] = {
        "currency": currency,
        "total_amount": total_amount,
        "invoice_payload": payload,
        "telegram_payment_charge_id": charge_id,
        "provider_payment_charge_id": provider_charge_id,
    }
    return update
