"""Several contacts per client (an accountant, a colleague) and group chats, through the
real Application: /invite, reminders to every chat, answers, removal, blocks."""

from __future__ import annotations

import contextlib
import itertools
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update

from bot.app import build_application, close_application
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.tables import Client, ClientContact, Invoice, InvoiceNotice, Letter, Reminder
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OWNER_ID, STRANGER_ID
from tests.fakes.bot_api import BOT_ID, BOT_USERNAME, FAKE_DATE, FakeBotApi
from tests.fakes.updates import send_document, send_text, user
from tests.handlers.engine_helpers import (
    add_linked_client,
    deliver_alerts,
    owner_says,
    press,
    rows,
    sent_to,
    tick_until,
    written_anew,
)

ACCOUNTANT_ID = 333
GROUP_ID = -100_777
MEMBER_ID = 444  # who adds the bot to the group
OTHER_MEMBER_ID = 555
LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]+)")
GROUP_LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?startgroup=([A-Za-z0-9_-]+)")
HEADS_UP = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # due Fri 4 Dec: heads-up on Tue 1 Dec
BLOCKED = "Forbidden: bot was blocked by the user"
_ids = itertools.count(700_000)


async def invite_link(app: Any, bot_api: FakeBotApi, ref: str = "Acme") -> tuple[str, str]:
    replies = await owner_says(app, bot_api, f"/invite {ref}")
    match, group = LINK.search(replies[0]), GROUP_LINK.search(replies[0])
    assert match and group, replies
    assert match.group(1) == group.group(1)  # one token, two ways to open it
    return replies[0], match.group(1)


async def with_accountant(app: Any, bot_api: FakeBotApi) -> None:
    """Acme: Ann (CLIENT_USER_ID) opened /newclient's link, Bea (ACCOUNTANT_ID) an /invite."""
    await owner_says(app, bot_api, "/start")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    _, token = await invite_link(app, bot_api)
    await send_text(app, ACCOUNTANT_ID, f"/start {token}", first_name="Bea")
    await owner_says(app, bot_api, "/newinvoice Acme 1200 EUR 2026-12-04 Website redesign")
    bot_api.clear()


async def group_start(app: Any, token: str, user_id: int = MEMBER_ID) -> None:
    text = f"/start@{BOT_USERNAME} {token}"
    await send_text(app, user_id, text, first_name="Carl", group_id=GROUP_ID)


async def group_press(app: Any, user_id: int, data: str) -> None:
    update_id = next(_ids)
    query = {
        "id": f"cb-{update_id}",
        "from": user(user_id, "Dan"),
        "chat_instance": "2",
        "data": data,
        "message": {
            "message_id": 5,
            "date": FAKE_DATE,
            "chat": {"id": GROUP_ID, "type": "supergroup", "title": "Team"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "duebot"},
            "text": "reminder",
        },
    }
    update = {"update_id": update_id, "callback_query": query}
    await app.process_update(Update.de_json(update, app.bot))


async def bot_membership(app: Any, status: str) -> None:
    bot = {"id": BOT_ID, "is_bot": True, "first_name": "duebot"}
    update = {
        "update_id": next(_ids),
        "my_chat_member": {
            "chat": {"id": GROUP_ID, "type": "supergroup", "title": "Team"},
            "from": user(MEMBER_ID, "Carl"),
            "date": FAKE_DATE,
            "old_chat_member": {"user": bot, "status": "member"},
            "new_chat_member": {"user": bot, "status": status},
        },
    }
    await app.process_update(Update.de_json(update, app.bot))


async def invoice_id(app: Any) -> int:
    [invoice] = await rows(app, Invoice)
    assert isinstance(invoice.id, int)
    return invoice.id


# --- several contacts -------------------------------------------------------------------


async def test_invite_gives_a_link_for_one_more_contact_and_the_owner_hears_who_joined(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/start")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    text, token = await invite_link(app, bot_api)
    assert "A link for one more contact of <b>Acme</b>" in text

    bot_api.clear()
    await send_text(app, ACCOUNTANT_ID, f"/start {token}", first_name="Bea")

    assert "You're now connected with <b>Ann</b>" in bot_api.texts(ACCOUNTANT_ID)[0]
    assert bot_api.texts(OWNER_ID) == [
        "🤝 <b>Bea</b> joined as a contact of <b>Acme</b>: reminders now reach them too, "
        "and they may answer."
    ]
    contacts = await rows(app, ClientContact)
    assert sorted(c.chat_id for c in contacts) == [CLIENT_USER_ID, ACCOUNTANT_ID]
    [client] = await rows(app, Client)
    assert client.chat_id == CLIENT_USER_ID  # the first contact stays the first


async def test_invite_without_a_client_or_for_an_unknown_one_explains_and_changes_nothing(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/start")
    assert await owner_says(app, bot_api, "/invite") == [
        "Please give the client's name or number, e.g. <code>/invite Acme</code> or "
        "<code>/invite 1</code>."
    ]
    [refused] = await owner_says(app, bot_api, "/invite Nobody")
    assert 'I don\'t know a client called "Nobody"' in refused


async def test_every_linked_contact_gets_each_reminder_once_a_day(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await with_accountant(app, bot_api)

    await tick_until(app, clock, datetime(2026, 12, 8, 12, 0, tzinfo=UTC))

    for chat in (CLIENT_USER_ID, ACCOUNTANT_ID):
        texts = [call.text for call in sent_to(bot_api, chat)]
        assert len(texts) == 3  # heads-up, due, overdue-1 (the weekend skipped)
        assert "a friendly heads-up" in texts[0] and "#1" in texts[0]
    # One reminder is one event: one outbox row per stage, whatever the number of chats.
    stages = Counter(r.stage for r in await rows(app, Reminder) if r.status == "sent")
    assert stages == Counter({"heads_up": 1, "due": 1, "overdue_1": 1})


async def test_either_contact_may_answer_and_the_owner_alert_names_who(
    app: Any, bot_api: FakeBotApi
) -> None:
    await with_accountant(app, bot_api)

    await press(app, ACCOUNTANT_ID, f"c:paid:{await invoice_id(app)}")

    [alert] = bot_api.texts(OWNER_ID)
    assert "Acme" in alert and alert.endswith("Answered by Bea.")
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "payment_claimed"


async def test_client_invoices_works_for_any_contact(app: Any, bot_api: FakeBotApi) -> None:
    await with_accountant(app, bot_api)

    await send_text(app, ACCOUNTANT_ID, "/invoices")

    [listed] = bot_api.texts(ACCOUNTANT_ID)
    assert "#1" in listed


async def test_client_card_lists_contacts_and_removing_one_stops_their_reminders(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await with_accountant(app, bot_api)
    await send_text(app, CLIENT_USER_ID, "/invoices", first_name="Ann")  # names learnt here
    bot_api.clear()

    await send_text(app, OWNER_ID, "/client Acme")
    [card] = bot_api.sent(chat_id=OWNER_ID)
    assert card.text.endswith("Contacts:\n• Ann\n• Bea")
    unlink = next(b for b in card.buttons if b["text"] == "✖ Unlink Bea")

    bot_api.clear()
    await press(app, OWNER_ID, unlink["callback_data"])
    assert bot_api.texts(OWNER_ID) == ["Bea no longer gets the reminders of <b>Acme</b>."]

    await tick_until(app, clock, HEADS_UP)
    assert len(sent_to(bot_api, CLIENT_USER_ID)) == 1
    assert sent_to(bot_api, ACCOUNTANT_ID) == []

    # Bea's old button is no longer hers to press.
    await press(app, ACCOUNTANT_ID, f"c:paid:{await invoice_id(app)}")
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "open"


async def test_removing_the_last_contact_leaves_the_client_not_connected(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/start")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    [contact] = await rows(app, ClientContact)

    await press(app, OWNER_ID, f"o:rmcontact:{contact.id}")

    [reply] = bot_api.texts(OWNER_ID)
    assert "Acme has no contact left" in reply and "<code>/invite 1</code>" in reply
    [client] = await rows(app, Client)
    assert (client.chat_id, client.unreachable) == (None, False)
    assert await rows(app, ClientContact) == []


async def test_the_cards_invite_more_button_gives_a_link_for_one_more_contact(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/start")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    bot_api.clear()

    await press(app, OWNER_ID, "o:invitemore:1")  # the card's button (target: client number)

    replies = bot_api.texts(OWNER_ID)
    token = LINK.search(replies[0])
    assert token and GROUP_LINK.search(replies[0]), replies
    await send_text(app, ACCOUNTANT_ID, f"/start {token.group(1)}", first_name="Bea")
    assert len(await rows(app, ClientContact)) == 2


async def test_another_owner_cannot_remove_a_contact(app: Any, bot_api: FakeBotApi) -> None:
    from tests.conftest import OTHER_OWNER_ID

    await owner_says(app, bot_api, "/start")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    [contact] = await rows(app, ClientContact)

    await press(app, OTHER_OWNER_ID, f"o:rmcontact:{contact.id}")

    assert len(await rows(app, ClientContact)) == 1


async def test_one_contact_blocks_the_bot_and_the_other_still_gets_reminders(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await with_accountant(app, bot_api)
    bot_api.fail("sendMessage", 403, BLOCKED, chat_id=ACCOUNTANT_ID)

    await tick_until(app, clock, HEADS_UP)

    assert len(sent_to(bot_api, CLIENT_USER_ID)) == 1
    [told] = bot_api.texts(OWNER_ID)
    assert told.startswith("⚠️ <b>Bea</b> blocked the bot")
    assert "The other contacts of Acme still get them." in told
    [client] = await rows(app, Client)
    assert not client.unreachable and client.chat_id == CLIENT_USER_ID
    [heads_up] = [r for r in await rows(app, Reminder) if r.stage == "heads_up"]
    assert heads_up.status == "sent"  # delivered: one contact received it

    bot_api.clear()
    await tick_until(app, clock, datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    assert len(sent_to(bot_api, CLIENT_USER_ID)) == 1  # the due-day note
    assert sent_to(bot_api, ACCOUNTANT_ID) == []  # not tried again
    assert bot_api.texts(OWNER_ID) == []  # told once


async def test_all_contacts_blocking_makes_the_client_unreachable_and_alerts_once(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await with_accountant(app, bot_api)
    bot_api.fail("sendMessage", 403, BLOCKED, chat_id=CLIENT_USER_ID)
    bot_api.fail("sendMessage", 403, BLOCKED, chat_id=ACCOUNTANT_ID)

    await tick_until(app, clock, datetime(2026, 12, 8, 12, 0, tzinfo=UTC))

    [alert] = bot_api.texts(OWNER_ID)
    assert "<b>Acme</b> can't be reached in Telegram" in alert
    [client] = await rows(app, Client)
    assert client.unreachable
    assert all(c.unreachable for c in await rows(app, ClientContact))

    # Bea writes again: she is reachable, and so is the client.
    await send_text(app, ACCOUNTANT_ID, "/start", first_name="Bea")
    [client] = await rows(app, Client)
    assert not client.unreachable and client.chat_id == ACCOUNTANT_ID


async def test_a_chat_already_linked_does_not_use_up_another_persons_link(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/start")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    _, token = await invite_link(app, bot_api)

    await send_text(app, CLIENT_USER_ID, f"/start {token}")
    await send_text(app, ACCOUNTANT_ID, f"/start {token}", first_name="Bea")

    assert len(await rows(app, ClientContact)) == 2


# --- group chats ------------------------------------------------------------------------


async def test_startgroup_link_links_the_group_and_reminders_go_there(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await owner_says(app, bot_api, "/start")
    replies = await owner_says(app, bot_api, "/newclient Acme")
    assert "For a group chat: https://t.me/" in replies[0]
    assert "?startgroup=" in replies[1]  # the forwardable text offers both
    match = GROUP_LINK.search(replies[0])
    assert match

    bot_api.clear()
    await group_start(app, match.group(1))

    [welcome] = bot_api.texts(GROUP_ID)
    assert welcome.startswith("Hello Acme! This group is now connected with <b>Ann</b>.")
    [contact] = await rows(app, ClientContact)
    assert (contact.kind, contact.display_name, contact.telegram_user_id) == (
        "group",
        "Team",
        MEMBER_ID,
    )
    assert "<b>Acme</b> opened your invite" in bot_api.texts(OWNER_ID)[0]

    await owner_says(app, bot_api, "/newinvoice Acme 1200 EUR 2026-12-04 Website redesign")
    bot_api.clear()
    await tick_until(app, clock, HEADS_UP)
    [reminder] = sent_to(bot_api, GROUP_ID)
    assert "a friendly heads-up" in reminder.text


async def test_only_linked_members_may_press_in_a_group(app: Any, bot_api: FakeBotApi) -> None:
    await owner_says(app, bot_api, "/start")
    replies = await owner_says(app, bot_api, "/newclient Acme")
    match = GROUP_LINK.search(replies[0])
    assert match
    await group_start(app, match.group(1))
    await owner_says(app, bot_api, "/newinvoice Acme 1200 EUR 2026-12-04 Website redesign")
    bot_api.clear()
    number = await invoice_id(app)

    await group_press(app, OTHER_MEMBER_ID, f"c:paid:{number}")
    [refusal] = [c.params.get("text") for c in bot_api.sent("answerCallbackQuery")]
    assert refusal is not None and refusal.startswith("Only the people linked to this account")
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "open"
    assert bot_api.texts(OWNER_ID) == []

    await group_press(app, MEMBER_ID, f"c:paid:{number}")
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "payment_claimed"
    [alert] = bot_api.texts(OWNER_ID)
    assert alert.endswith("Answered by Dan (Team).")


async def test_bot_removed_from_the_group_marks_it_unreachable_and_tells_the_owner_once(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await owner_says(app, bot_api, "/start")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    _, token = await invite_link(app, bot_api)
    await group_start(app, token)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 EUR 2026-12-04 Website redesign")
    bot_api.clear()

    await bot_membership(app, "left")
    await bot_membership(app, "left")

    [told] = bot_api.texts(OWNER_ID)
    assert told.startswith("⚠️ The bot was removed from the group <b>Team</b>")
    assert "The other contacts of Acme still get them." in told
    group = next(c for c in await rows(app, ClientContact) if c.chat_id == GROUP_ID)
    assert group.unreachable
    [client] = await rows(app, Client)
    assert not client.unreachable

    await tick_until(app, clock, HEADS_UP)
    assert sent_to(bot_api, GROUP_ID) == []
    assert len(sent_to(bot_api, CLIENT_USER_ID)) == 1

    await bot_membership(app, "member")  # added back: the group is reachable again
    group = next(c for c in await rows(app, ClientContact) if c.chat_id == GROUP_ID)
    assert not group.unreachable


async def test_a_group_of_two_clients_removing_the_bot_tells_the_owner_in_the_order_linked(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/start")
    for name in ("Acme", "Beta"):
        await owner_says(app, bot_api, f"/newclient {name}")
        _, token = await invite_link(app, bot_api, name)
        await group_start(app, token)
    first_linked = min(contact.id or 0 for contact in await rows(app, ClientContact))
    await written_anew(app, ClientContact, first_linked, ClientContact.chat_id)
    bot_api.clear()

    await bot_membership(app, "left")

    told = bot_api.texts(OWNER_ID)
    assert [text.split("\n")[1] for text in told] == [
        "Nobody at Acme can be reached in Telegram now: reminders are on hold. "
        "A fresh invite link can help.",
        "Nobody at Beta can be reached in Telegram now: reminders are on hold. "
        "A fresh invite link can help.",
    ], told


async def test_owner_commands_in_a_linked_group_still_point_to_the_private_chat(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/start")
    replies = await owner_says(app, bot_api, "/newclient Acme")
    match = GROUP_LINK.search(replies[0])
    assert match
    await group_start(app, match.group(1))
    bot_api.clear()

    await send_text(app, OWNER_ID, "/clients", group_id=GROUP_ID)
    await send_text(app, STRANGER_ID, "/invoices", group_id=GROUP_ID)

    [pointer] = bot_api.texts(GROUP_ID)
    assert "Acme" not in pointer


async def test_forget_erases_every_contact(app: Any, bot_api: FakeBotApi) -> None:
    await with_accountant(app, bot_api)
    [client] = await rows(app, Client)

    await press(app, OWNER_ID, f"o:forgetyes:{client.id}")

    assert await rows(app, ClientContact) == []
    [client] = await rows(app, Client)
    assert client.chat_id is None and client.forgotten_at is not None
    await press(app, ACCOUNTANT_ID, f"c:paid:{await invoice_id(app)}")
    [invoice] = await rows(app, Invoice)
    assert invoice.status == "open"


async def test_the_thanks_for_a_payment_reaches_every_contact(
    app: Any, bot_api: FakeBotApi
) -> None:
    await with_accountant(app, bot_api)
    await press(app, ACCOUNTANT_ID, f"c:paid:{await invoice_id(app)}")
    bot_api.clear()

    await press(app, OWNER_ID, "o:confirm:1")

    [invoice] = await rows(app, Invoice)
    assert invoice.status == "paid"
    for chat in (CLIENT_USER_ID, ACCOUNTANT_ID):
        [thanks] = bot_api.texts(chat)
        assert "#1" in thanks


# --- the new-invoice notice and letters: every contact is the client ---------------------
PDF = b"%PDF-1.4\n% an invoice\n"
NOTICE = "🧾 Hello Acme, here is a new invoice"


async def with_three_contacts(app: Any, bot_api: FakeBotApi) -> None:
    """Acme: Ann (CLIENT_USER_ID), Bea (ACCOUNTANT_ID) and the Team group; no invoice yet."""
    await owner_says(app, bot_api, "/start")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    _, token = await invite_link(app, bot_api)
    await send_text(app, ACCOUNTANT_ID, f"/start {token}", first_name="Bea")
    _, token = await invite_link(app, bot_api)
    await group_start(app, token)
    bot_api.clear()


def notices_to(bot_api: FakeBotApi, chat_id: int) -> list[str]:
    return [text for text in bot_api.texts(chat_id) if text.startswith(NOTICE)]


async def test_every_contact_gets_the_new_invoice_notice_once_with_the_pdf(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await with_three_contacts(app, bot_api)
    file_id = bot_api.host_file(PDF, "invoice-7.pdf")

    caption = "/newinvoice Acme 1200 EUR 2026-12-20 Website redesign"
    await send_document(
        app, OWNER_ID, file_id, "invoice-7.pdf", caption=caption, mime_type="application/pdf"
    )
    for _ in range(3):  # later ticks find nothing left to announce
        clock.advance(timedelta(minutes=10))
        await run_tick(app)

    for chat in (CLIENT_USER_ID, ACCOUNTANT_ID, GROUP_ID):
        [notice] = notices_to(bot_api, chat)
        assert "Invoice <b>#1</b>: Website redesign" in notice
        [document] = bot_api.sent("sendDocument", chat)
        assert document.params["document"] == file_id
    assert "📨 Acme has been sent the invoice notice with your PDF." in bot_api.texts(OWNER_ID)[0]
    notices = await rows(app, InvoiceNotice)
    contacts = await rows(app, ClientContact)
    assert sorted((n.contact_id, n.chat_id, n.status) for n in notices) == sorted(
        (c.id, c.chat_id, "sent") for c in contacts
    )


async def test_a_contact_who_blocked_the_bot_misses_the_notice_alone(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await with_three_contacts(app, bot_api)
    bot_api.fail("sendMessage", 403, BLOCKED, chat_id=ACCOUNTANT_ID)

    await owner_says(app, bot_api, "/newinvoice Acme 1200 EUR 2026-12-20 Website redesign")
    clock.advance(timedelta(minutes=10))
    await run_tick(app)

    assert len(notices_to(bot_api, CLIENT_USER_ID)) == len(notices_to(bot_api, GROUP_ID)) == 1
    assert notices_to(bot_api, ACCOUNTANT_ID) == []
    told = bot_api.texts(OWNER_ID)
    assert any(text.startswith("⚠️ <b>Bea</b> blocked the bot") for text in told), told
    assert not any("can't be reached in Telegram" in text for text in told)
    unreachable = {c.chat_id: c.unreachable for c in await rows(app, ClientContact)}
    assert unreachable == {CLIENT_USER_ID: False, ACCOUNTANT_ID: True, GROUP_ID: False}
    [client] = await rows(app, Client)
    assert not client.unreachable and client.chat_id == CLIENT_USER_ID
    statuses = {n.chat_id: n.status for n in await rows(app, InvoiceNotice)}
    assert statuses == {CLIENT_USER_ID: "sent", ACCOUNTANT_ID: "undelivered", GROUP_ID: "sent"}


async def test_a_waiting_notice_goes_neither_to_a_contact_linked_since_nor_to_one_removed(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await owner_says(app, bot_api, "/start")
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    _, token = await invite_link(app, bot_api)
    await send_text(app, ACCOUNTANT_ID, f"/start {token}", first_name="Bea")
    bot_api.fail("sendMessage", 502, "Bad Gateway", chat_id=CLIENT_USER_ID)
    bot_api.fail("sendMessage", 502, "Bad Gateway", chat_id=ACCOUNTANT_ID)
    await owner_says(app, bot_api, "/newinvoice Acme 1200 EUR 2026-12-20 Website redesign")
    _, token = await invite_link(app, bot_api)
    await group_start(app, token)  # linked after the invoice was created
    await send_text(app, OWNER_ID, "/client Acme")
    card = bot_api.sent(chat_id=OWNER_ID)[-1]
    unlink = next(b for b in card.buttons if b["text"] == "✖ Unlink Bea")
    await press(app, OWNER_ID, unlink["callback_data"])
    bot_api.clear()

    clock.advance(timedelta(minutes=3))  # the retry is due
    await run_tick(app)

    assert len(notices_to(bot_api, CLIENT_USER_ID)) == 1
    assert notices_to(bot_api, ACCOUNTANT_ID) == notices_to(bot_api, GROUP_ID) == []
    statuses = {n.chat_id: n.status for n in await rows(app, InvoiceNotice)}
    assert statuses == {CLIENT_USER_ID: "sent", ACCOUNTANT_ID: "dropped"}


async def test_a_crash_while_one_contact_is_sent_the_notice_leaves_the_others_theirs(
    settings: Settings, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    app = build_application(settings, clock, request=bot_api)
    async with app:
        await with_accountant(app, bot_api)  # Ann had #1's notice
        # The process dies inside the Bot API call to Ann: her claim is committed, Bea's
        # notice is still waiting.
        bot_api.raise_on("sendMessage", SystemExit(1))
        with contextlib.suppress(SystemExit):
            await owner_says(app, bot_api, "/newinvoice Acme 300 EUR 2026-12-20 Logo")
    await close_application(app)

    restarted = build_application(settings, clock, request=bot_api)
    async with restarted:
        await tick_until(restarted, clock, clock.now() + timedelta(hours=1))
        assert [n for n in notices_to(bot_api, CLIENT_USER_ID) if "#2" in n] == []
        assert len([n for n in notices_to(bot_api, ACCOUNTANT_ID) if "#2" in n]) == 1
        second = [n for n in await rows(restarted, InvoiceNotice) if n.invoice_id == 2]
        statuses = {n.chat_id: n.status for n in second}
        assert statuses == {CLIENT_USER_ID: "unknown", ACCOUNTANT_ID: "sent"}
        missed = [t for t in bot_api.texts(OWNER_ID) if "notice of new invoice <b>#2</b>" in t]
        assert len(missed) == 1
    await close_application(restarted)


async def test_attaching_after_the_notice_sends_the_document_to_every_contact_that_had_it(
    app: Any, bot_api: FakeBotApi
) -> None:
    await with_accountant(app, bot_api)
    file_id = bot_api.host_file(PDF, "invoice-1.pdf")

    await send_document(
        app, OWNER_ID, file_id, "invoice-1.pdf", caption="/attach 1", mime_type="application/pdf"
    )

    for chat in (CLIENT_USER_ID, ACCOUNTANT_ID):
        [document] = bot_api.sent("sendDocument", chat)
        assert document.params["document"] == file_id


async def test_the_letter_reaches_every_contact_and_a_blocked_one_is_marked_alone(
    app: Any, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    await with_accountant(app, bot_api)
    await tick_until(app, clock, datetime(2026, 12, 8, 12, 0, tzinfo=UTC))
    await send_text(app, OWNER_ID, "/letter 1")
    [letter] = await rows(app, Letter)
    bot_api.fail("sendDocument", 403, BLOCKED, chat_id=ACCOUNTANT_ID)
    bot_api.clear()

    await press(app, OWNER_ID, f"o:sendletter:{letter.id}")
    await deliver_alerts(app)

    [to_ann] = bot_api.sent("sendDocument", CLIENT_USER_ID)
    assert to_ann.params["document"] == letter.file_id
    assert "Pay now" in " ".join(b["text"] for b in to_ann.buttons)
    told = bot_api.texts(OWNER_ID)
    assert "✅ The payment demand for <b>#1</b> has been sent to Acme." in told
    assert any(text.startswith("⚠️ <b>Bea</b> blocked the bot") for text in told), told
    unreachable = {c.chat_id: c.unreachable for c in await rows(app, ClientContact)}
    assert unreachable == {CLIENT_USER_ID: False, ACCOUNTANT_ID: True}
    [letter] = await rows(app, Letter)
    assert letter.sent_to_client_at is not None


async def test_the_owners_plan_offer_reaches_every_contact(app: Any, bot_api: FakeBotApi) -> None:
    await with_accountant(app, bot_api)

    await press(app, OWNER_ID, "o:offerplan:1")

    for chat in (CLIENT_USER_ID, ACCOUNTANT_ID):
        [offer] = bot_api.sent(chat_id=chat)
        assert "#1" in offer.text and offer.buttons
