"""Build Telegram updates the way Telegram would send them, and feed them to the app."""

from __future__ import annotations

import itertools
from typing import Any

from telegram import Update
from telegram.ext import Application

from tests.fakes.bot_api import FAKE_DATE

_update_ids = itertools.count(1)
_message_ids = itertools.count(10_000)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def user(user_id: int, first_name: str = "Ann", language_code: str | None = "en") -> dict[str, Any]:
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        data["language_code"] = language_code
    return data


def message_update(
    user_id: int, text: str, *, first_name: str = "Ann", language_code: str | None = "en"
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": FAKE_DATE,
        "chat": {"id": user_id, "type": "private", "first_name": first_name},
        "from": user(user_id, first_name, language_code),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": next(_update_ids), "message": message}


async def send_text(app: AnyApplication, user_id: int, text: str, **kwargs: Any) -> None:
    update = Update.de_json(message_update(user_id, text, **kwargs), app.bot)
    await app.process_update(update)
