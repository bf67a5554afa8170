"""Owner → /newclient → client opens the invite: through the real Application."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from bot.clock import FrozenClock
from bot.db.tables import Client, Event, Invite
from tests.conftest import CLIENT_USER_ID, OTHER_OWNER_ID, OWNER_ID, STRANGER_ID
from tests.fakes.bot_api import BOT_USERNAME, FakeBotApi
from tests.fakes.updates import send_text
from tests.handlers.engine_helpers import rows

LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]+)")


async def new_client(app: Any, bot_api: FakeBotApi, name: str = "Acme") -> str:
    bot_api.clear()
    await send_text(app, OWNER_ID, f"/newclient {name}")
    replies = bot_api.texts(OWNER_ID)
    match = LINK.search(replies[0])
    assert match, replies
    return match.group(1)


async def test_newclient_replies_with_invite_link_and_forwardable_text(
    app: Any, bot_api: FakeBotApi
) -> None:
    token = await new_client(app, bot_api, "Acme Ltd")

    first, forward = bot_api.sent(chat_id=OWNER_ID)
    assert "Client <b>Acme Ltd</b> added as client 1" in first.text
    assert "expires on Dec 24, 2026" in first.text
    assert "Forward the next message to Acme Ltd" in first.text
    assert f"https://t.me/{BOT_USERNAME}?start={token}" in forward.text
    assert forward.text.startswith("Hello Acme Ltd, Ann here.")
    assert forward.buttons == [
        {"text": "Connect with Ann", "url": f"https://t.me/{BOT_USERNAME}?start={token}"}
    ]
    assert len(token) >= 22 and len(token) <= 64  # ≥128 bits of randomness, fits a deep link
    [client] = await rows(app, Client)
    assert (client.name, client.number, client.chat_id) == ("Acme Ltd", 1, None)
    [invite] = await rows(app, Invite)
    assert invite.token == token
    assert invite.expires_at - invite.created_at == timedelta(days=30)


async def test_newclient_with_a_name_in_use_gives_the_existing_client_and_a_fresh_link(
    app: Any, bot_api: FakeBotApi
) -> None:
    first_token = await new_client(app, bot_api, "Acme")
    second_token = await new_client(app, bot_api, "  acme ")

    assert first_token != second_token
    assert "<b>Acme</b> is already client 1; here is a fresh invite link." in bot_api.texts()[0]
    assert len(await rows(app, Client)) == 1
    assert len(await rows(app, Invite)) == 2


async def test_newclient_without_a_name_explains_the_form(app: Any, bot_api: FakeBotApi) -> None:
    await send_text(app, OWNER_ID, "/newclient")

    assert bot_api.texts(OWNER_ID) == [
        "Please give the client's name, e.g. <code>/newclient Acme Ltd</code>."
    ]
    assert await rows(app, Client) == []


async def test_newclient_with_an_overlong_name_is_refused(app: Any, bot_api: FakeBotApi) -> None:
    await send_text(app, OWNER_ID, "/newclient " + "x" * 101)

    assert bot_api.texts(OWNER_ID) == [
        "That name is too long (at most 100 characters), e.g. <code>/newclient Acme Ltd</code>."
    ]
    assert await rows(app, Client) == []


async def test_client_names_are_escaped_for_telegram_html(app: Any, bot_api: FakeBotApi) -> None:
    await new_client(app, bot_api, "<b>Bold</b> & Co")

    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in bot_api.texts(OWNER_ID)[0]


async def test_client_opens_invite_and_is_linked_and_owner_is_told(
    app: Any, bot_api: FakeBotApi
) -> None:
    token = await new_client(app, bot_api, "Acme")
    bot_api.clear()

    await send_text(app, CLIENT_USER_ID, f"/start {token}", first_name="Bob")

    assert bot_api.texts(CLIENT_USER_ID) == [
        "Hello Acme! You're now connected with <b>Ann</b>.\n"
        "Their invoices and payment reminders will arrive here, each with one-tap answers: "
        "pay, tell them you've paid, pick a date, propose a payment plan or report a problem "
        "with the work."
    ]
    assert bot_api.texts(OWNER_ID) == [
        "🤝 <b>Acme</b> opened your invite and is now connected. "
        "Their reminders will reach them here in Telegram."
    ]
    [client] = await rows(app, Client)
    assert client.chat_id == CLIENT_USER_ID
    assert client.joined_at is not None
    kinds = [event.kind for event in await rows(app, Event)]
    assert kinds == ["owner_registered", "client_created", "client_joined"]


async def test_invite_is_single_use(app: Any, bot_api: FakeBotApi) -> None:
    token = await new_client(app, bot_api, "Acme")
    await send_text(app, CLIENT_USER_ID, f"/start {token}")
    bot_api.clear()

    await send_text(app, STRANGER_ID, f"/start {token}")

    assert bot_api.texts(STRANGER_ID) == [
        "This invite link has already been used. If that wasn't you, please ask <b>Ann</b> "
        "for a new link."
    ]
    assert bot_api.texts(OWNER_ID) == []
    [client] = await rows(app, Client)
    assert client.chat_id == CLIENT_USER_ID


async def test_reopening_own_invite_says_already_connected(app: Any, bot_api: FakeBotApi) -> None:
    token = await new_client(app, bot_api, "Acme")
    await send_text(app, CLIENT_USER_ID, f"/start {token}")
    bot_api.clear()

    await send_text(app, CLIENT_USER_ID, f"/start {token}")

    assert bot_api.texts(CLIENT_USER_ID) == [
        "You're already connected with <b>Ann</b>; there's nothing more to do."
    ]
    assert bot_api.texts(OWNER_ID) == []


async def test_expired_invite_links_nothing(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    token = await new_client(app, bot_api, "Acme")
    clock.advance(timedelta(days=30))
    bot_api.clear()

    await send_text(app, CLIENT_USER_ID, f"/start {token}")

    assert bot_api.texts(CLIENT_USER_ID) == [
        "This invite link has expired. Please ask <b>Ann</b> for a new one; "
        "it only takes them a moment."
    ]
    [client] = await rows(app, Client)
    assert client.chat_id is None


async def test_unknown_invite_links_nothing(app: Any, bot_api: FakeBotApi) -> None:
    await new_client(app, bot_api, "Acme")
    bot_api.clear()

    # Three people (one stranger is answered once an hour: tests/handlers/test_strangers.py).
    people = (CLIENT_USER_ID, CLIENT_USER_ID + 1, CLIENT_USER_ID + 2)
    for person, token in zip(people, ("A" * 32, "not a token!", "x" * 65), strict=True):
        await send_text(app, person, f"/start {token}")

    unknown = (
        "Sorry, I don't recognise this invite link. Please check you opened the whole link, "
        "or ask the business that sent it for a new one."
    )
    assert [bot_api.texts(person) for person in people] == [[unknown]] * 3
    [client] = await rows(app, Client)
    assert client.chat_id is None


async def test_a_fresh_link_retires_when_the_client_joins_with_another(
    app: Any, bot_api: FakeBotApi
) -> None:
    old_token = await new_client(app, bot_api, "Acme")
    new_token = await new_client(app, bot_api, "Acme")
    await send_text(app, CLIENT_USER_ID, f"/start {new_token}")
    bot_api.clear()

    await send_text(app, STRANGER_ID, f"/start {old_token}")

    assert "already been used" in bot_api.texts(STRANGER_ID)[0]
    [client] = await rows(app, Client)
    assert client.chat_id == CLIENT_USER_ID


async def test_start_without_token_from_a_stranger_explains(app: Any, bot_api: FakeBotApi) -> None:
    await send_text(app, STRANGER_ID, "/start")

    [text] = bot_api.texts(STRANGER_ID)
    assert text.startswith("Hello! I'm duebot")
    assert "open that link" in text


async def test_owner_start_shows_help_with_commands(app: Any, bot_api: FakeBotApi) -> None:
    await send_text(app, OWNER_ID, "/start")

    [text] = bot_api.texts(OWNER_ID)
    assert "/newclient — add a client and get their invite link" in text
    assert "/clients — your clients and what they owe" in text
    [commands] = bot_api.sent("setMyCommands")
    assert commands.params["scope"] == {"type": "chat", "chat_id": OWNER_ID}


async def test_non_owner_is_refused_politely_and_nothing_changes(
    app: Any, bot_api: FakeBotApi
) -> None:
    await send_text(app, STRANGER_ID, "/newclient Sneaky")
    await send_text(app, STRANGER_ID, "/clients")

    refusal = (
        "Sorry, that command is only for the business owners who run this bot. "
        "If a business sent you an invite link, please open that link to connect."
    )
    # Refused once: a stranger is answered once an hour (tests/handlers/test_strangers.py).
    assert bot_api.texts(STRANGER_ID) == [refusal]
    assert await rows(app, Client) == []


async def test_clients_lists_each_client_with_status(app: Any, bot_api: FakeBotApi) -> None:
    token = await new_client(app, bot_api, "Acme")
    await new_client(app, bot_api, "Globex")
    await send_text(app, CLIENT_USER_ID, f"/start {token}")
    bot_api.clear()

    await send_text(app, OWNER_ID, "/clients")

    assert bot_api.texts(OWNER_ID) == [
        "<b>Your clients</b> (2)\n"
        "1. <b>Acme</b> — connected — nothing owed\n"
        "2. <b>Globex</b> — invite not opened yet — nothing owed"
    ]


async def test_clients_when_there_are_none(app: Any, bot_api: FakeBotApi) -> None:
    await send_text(app, OWNER_ID, "/clients")

    assert bot_api.texts(OWNER_ID) == [
        "You have no clients yet. Add one with <code>/newclient Acme Ltd</code>."
    ]


async def test_owners_do_not_see_each_others_clients(app: Any, bot_api: FakeBotApi) -> None:
    await new_client(app, bot_api, "Acme")
    bot_api.clear()

    await send_text(app, OTHER_OWNER_ID, "/newclient Acme", first_name="Zed")
    await send_text(app, OTHER_OWNER_ID, "/clients", first_name="Zed")

    assert "added as client 1" in bot_api.texts(OTHER_OWNER_ID)[0]
    assert "(1)" in bot_api.texts(OTHER_OWNER_ID)[-1]


async def test_command_menus_are_published_at_start(app: Any, bot_api: FakeBotApi) -> None:
    assert app.post_init is not None
    await app.post_init(app)

    menus = bot_api.sent("setMyCommands")
    scopes = [(c.params["scope"]["type"], c.params.get("language_code")) for c in menus]
    assert scopes == [
        ("default", None),
        ("default", "en"),
        ("default", "pt"),
        ("default", "ru"),
        ("default", "pl"),
        ("chat", None),
        ("chat", None),
    ]
    client_menu = [command["command"] for command in menus[0].params["commands"]]
    assert client_menu == ["start", "invoices", "mydata", "help"]
    owner_menu = [command["command"] for command in menus[-1].params["commands"]]
    assert owner_menu[:4] == ["start", "help", "newclient", "clients"]
    assert {"settings", "report", "letter", "export", "import", "forget"} <= set(owner_menu)
