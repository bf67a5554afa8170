"""Data rights: /forget erases a client's personal data and keeps anonymised amounts for
the owner's books; /mydata shows a person what is stored about them, and nobody else's."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import FrozenClock
from bot.db.tables import (
    Client,
    Dispute,
    Event,
    Instalment,
    Invite,
    Invoice,
    Letter,
    Payment,
    Plan,
    Promise,
    Reminder,
    UserState,
)
from messages.render import MAX_MESSAGE_LENGTH
from scheduler import run_tick
from tests.conftest import CLIENT_USER_ID, OTHER_OWNER_ID, OWNER_ID, STRANGER_ID
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.updates import send_text
from tests.handlers.engine_helpers import (
    LINK,
    add_linked_client,
    button,
    callbacks_answered,
    owner_says,
    press,
    rows,
    sent_to,
    tick_until,
)

SECOND_CLIENT_ID = 333
DETAILS = "The logo is wrong, call me on +48 600 100 200"
DESCRIPTION = "Website for Anna Kowalska"
PERSONAL = ("Acme", "Anna", "Kowalska", "call me", "+48 600")
# Every table that holds something about a client or their invoices.
CLIENT_TABLES = (
    Client,
    Invite,
    Invoice,
    Payment,
    Reminder,
    Event,
    Promise,
    Plan,
    Instalment,
    Dispute,
    Letter,
)
STALE = "That button is out of date or isn't about one of your clients, so nothing was changed."


async def the_client(app: Any, name: str = "Acme") -> Client:
    found: list[Client] = [client for client in await rows(app, Client) if client.name == name]
    assert len(found) == 1
    return found[0]


async def invoice_id(app: Any, number: int) -> int:
    [found] = [invoice for invoice in await rows(app, Invoice) if invoice.number == number]
    return int(found.id)


async def acme_with_a_history(app: Any, bot_api: FakeBotApi) -> Call:
    """Acme: linked, own language and time zone, reminded, a dispute in their own words,
    a payment, an open invoice still to be reminded, and an invite link not yet used.
    Returns the reminder they got."""
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    client_id = (await the_client(app)).id
    await press(app, OWNER_ID, f"o:clpl:{client_id}")
    await press(app, OWNER_ID, f"o:ctz:{client_id}")
    await send_text(app, OWNER_ID, "Europe/Warsaw")
    for command in (
        f"/newinvoice Acme 1000 2026-11-24 {DESCRIPTION}",  # #1 due today: reminded
        "/newinvoice Acme 300 2026-11-30 Logo",  # #2 paid below
        "/newinvoice Acme 200 2026-12-01 Hosting",  # #3 open: its reminders are ahead
        "/paid 2",
    ):
        await owner_says(app, bot_api, command)
    await run_tick(app)
    reminder = sent_to(bot_api, CLIENT_USER_ID)[-1]
    assert "<b>#1</b>" in reminder.text and reminder.buttons
    await press(app, CLIENT_USER_ID, f"c:rq:{await invoice_id(app, 1)}")
    await send_text(app, CLIENT_USER_ID, DETAILS)
    await owner_says(app, bot_api, "/newclient Acme")  # a fresh link, never opened
    assert [invite.used_at is None for invite in await rows(app, Invite)] == [False, True]
    return reminder


def values(row: Any) -> list[Any]:
    return list(row.model_dump().values())


# --- /forget ---------------------------------------------------------------------------------
async def test_forget_erases_personal_data_and_keeps_the_amounts(
    app: Any, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    reminder = await acme_with_a_history(app, bot_api)
    old_link = LINK.findall(" ".join(bot_api.texts(OWNER_ID)))[-1]
    await press(app, CLIENT_USER_ID, f"c:ldate:{await invoice_id(app, 3)}")  # left unanswered
    assert [state.user_id for state in await rows(app, UserState)] == [CLIENT_USER_ID]
    bot_api.clear()

    [question] = await owner_says(app, bot_api, "/forget acme")

    assert question.splitlines() == [
        "🗑 Forget <b>Acme</b> (client 1)?",
        'Erased for good: the name (they become "Client 1" in your books), their Telegram '
        "connection, language and time zone, invite links, invoice descriptions, the problems "
        "they described and anything else they typed.",
        "Kept for your books, without a name: 3 invoices with numbers, amounts, dates, status "
        "and payments.",
        "Still owed on 2 open invoices: €1,200.00. They stay open in your books, but no "
        "reminder will ever go out again: record payments with /paid or close them with "
        "/writeoff.",
        "This can't be undone.",
    ]
    asked = sent_to(bot_api, OWNER_ID)[-1]
    assert [b["text"] for b in asked.buttons] == ["🗑 Forget", "↩️ Keep"]
    assert await the_client(app)  # nothing changed yet

    await press(app, OWNER_ID, button(asked, "🗑 Forget"))

    assert sent_to(bot_api, OWNER_ID)[-1].text.splitlines() == [
        "🗑 Done: client 1 is now <b>Client 1</b>, and their personal data is erased.",
        "Kept for your books: 3 invoices with amounts and payments.",
        "2 open invoices still owed: €1,200.00. No reminders will go out; use /paid or "
        "/writeoff when you settle.",
    ]
    assert bot_api.sent("editMessageReplyMarkup")[-1].buttons == []  # answered once
    [client] = await rows(app, Client)
    assert (client.name, client.chat_id, client.telegram_user_id) == ("Client 1", None, None)
    assert (client.locale, client.timezone, client.forgotten_at) == (None, None, clock.now())
    assert await rows(app, Invite) == []
    assert await rows(app, UserState) == []  # the question they left unanswered
    [dispute] = await rows(app, Dispute)
    assert (dispute.reason, dispute.details, dispute.status) == ("quality", "", "open")
    invoices = sorted(await rows(app, Invoice), key=lambda invoice: invoice.number)
    assert [(i.number, i.amount_minor, i.paid_minor, i.currency, i.status) for i in invoices] == [
        (1, 100000, 0, "EUR", "disputed"),
        (2, 30000, 30000, "EUR", "paid"),
        (3, 20000, 0, "EUR", "open"),
    ]
    assert [str(i.due_date) for i in invoices] == ["2026-11-24", "2026-11-30", "2026-12-01"]
    assert {i.description for i in invoices} == {""}
    assert [p.amount_minor for p in await rows(app, Payment)] == [30000]
    assert {r.chat_id for r in await rows(app, Reminder)} == {None}
    events = await rows(app, Event)
    assert [(e.kind, e.data, e.client_id) for e in events if e.kind == "client_forgotten"] == [
        ("client_forgotten", "{}", client.id)
    ]
    assert all("chat_id" not in json.loads(e.data) for e in events)
    # Nothing anywhere still names them, quotes them or holds their Telegram id.
    for table in CLIENT_TABLES:
        for row in await rows(app, table):
            dumped = repr(values(row))
            assert not [text for text in PERSONAL if text in dumped], (table, dumped)
            assert CLIENT_USER_ID not in values(row), (table, dumped)

    # The engine never reaches them again, and nobody is alerted about them.
    bot_api.clear()
    await tick_until(app, clock, datetime(2027, 1, 10, tzinfo=UTC), step=timedelta(hours=6))
    assert sent_to(bot_api, CLIENT_USER_ID) == []
    assert sent_to(bot_api, OWNER_ID) == []
    assert {invoice.next_reminder_at for invoice in await rows(app, Invoice)} == {None}

    # The books still add up.
    [report] = await owner_says(app, bot_api, "/report")
    assert "<b>EUR</b>: €1,200.00 outstanding" in report
    [listed] = await owner_says(app, bot_api, "/invoices")
    assert "<b>#3</b> Client 1 — €200.00 — due Dec 1, 2026 (40 days overdue) — open" in listed

    # The person's old buttons, link and commands lead nowhere.
    await press(app, CLIENT_USER_ID, button(reminder, "✅ Już zapłacono"))
    assert callbacks_answered(bot_api)[-1] == "This button isn't for you, so nothing was changed."
    await send_text(app, CLIENT_USER_ID, f"/start {old_link}")
    assert sent_to(bot_api, CLIENT_USER_ID)[-1].text.startswith("Sorry, I don't recognise")
    clock.advance(timedelta(hours=1))  # now a stranger: answered once an hour
    await send_text(app, CLIENT_USER_ID, "/mydata")
    assert sent_to(bot_api, CLIENT_USER_ID)[-1].text == (
        "Nothing is stored about you here: you aren't connected to any business through this bot."
    )
    assert (await rows(app, Client))[0].chat_id is None


async def test_a_forgotten_client_stays_forgotten(app: Any, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await owner_says(app, bot_api, "/forget Acme")
    asked = sent_to(bot_api, OWNER_ID)[-1]
    await press(app, OWNER_ID, button(asked, "🗑 Forget"))
    before = [values(row) for row in await rows(app, Client)]
    bot_api.clear()

    await press(app, OWNER_ID, button(asked, "🗑 Forget"))  # a second press
    [again] = await owner_says(app, bot_api, "/forget 1")
    [unknown] = await owner_says(app, bot_api, "/forget Acme")
    [no_invoice] = await owner_says(app, bot_api, "/newinvoice 1 100 2026-12-01")
    [card] = await owner_says(app, bot_api, "/client 1")
    await press(app, OWNER_ID, f"o:invite:{(await rows(app, Client))[0].id}")  # an old card

    already = "Client 1 has already been forgotten; there is nothing left to erase."
    assert sent_to(bot_api, OWNER_ID)[0].text == already
    assert again == already
    assert unknown.startswith('I don\'t know a client called "Acme".')
    assert no_invoice == (
        "Client 1 has been forgotten (their personal data was erased), so they can't get new "
        "invoices. If they come back, add them again with <code>/newclient</code>."
    )
    assert card.splitlines()[:2] == [
        "👤 <b>Client 1</b> (client 1)",
        "Forgotten on Nov 24, 2026: personal data erased, amounts kept for your books.",
    ]
    assert sent_to(bot_api, OWNER_ID)[4].buttons == []
    assert sent_to(bot_api, OWNER_ID)[-1].text == already
    assert [values(row) for row in await rows(app, Client)] == before
    assert await rows(app, Invoice) == []
    assert await rows(app, Invite) == []
    # Not in the step-by-step dialog's choice of clients either.
    [nobody] = await owner_says(app, bot_api, "/newinvoice")
    assert "step 1 of 4" not in nobody

    # The name is free again: a new Acme is a new client, nothing to do with the old record.
    added, _ = await owner_says(app, bot_api, "/newclient Acme")
    assert "is already client" not in added
    assert sorted((c.number, c.name) for c in await rows(app, Client)) == [
        (1, "Client 1"),
        (2, "Acme"),
    ]


async def test_keep_changes_nothing(app: Any, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    before = [values(row) for table in CLIENT_TABLES for row in await rows(app, table)]

    [question] = await owner_says(app, bot_api, "/forget 1")
    assert "Still owed" not in question
    assert "Kept for your books, without a name: 0 invoices" in question
    await press(app, OWNER_ID, button(sent_to(bot_api, OWNER_ID)[-1], "↩️ Keep"))

    assert sent_to(bot_api, OWNER_ID)[-1].text == "↩️ Kept: nothing about <b>Acme</b> was erased."
    assert bot_api.sent("editMessageReplyMarkup")[-1].buttons == []
    assert [values(row) for table in CLIENT_TABLES for row in await rows(app, table)] == before


async def test_another_owners_or_a_made_up_button_changes_nothing(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await send_text(app, OTHER_OWNER_ID, "/help")  # the other owner is known already
    acme = (await the_client(app)).id
    bot_api.clear()
    before = [values(row) for table in CLIENT_TABLES for row in await rows(app, table)]

    for action in ("forgetyes", "forgetno"):
        await press(app, OTHER_OWNER_ID, f"o:{action}:{acme}")
        await press(app, OWNER_ID, f"o:{action}:999")
    await press(app, CLIENT_USER_ID, f"o:forgetyes:{acme}")
    await press(app, STRANGER_ID, f"o:forgetyes:{acme}")

    assert bot_api.texts(OTHER_OWNER_ID) == [STALE, STALE]
    assert bot_api.texts(OWNER_ID) == [STALE, STALE]
    assert callbacks_answered(bot_api)[-2:] == [
        "This button isn't for you, so nothing was changed.",
        "This button isn't for you, so nothing was changed.",
    ]
    assert [values(row) for table in CLIENT_TABLES for row in await rows(app, table)] == before


async def test_a_forgotten_clients_language_and_time_zone_cannot_be_set_again(
    app: Any, bot_api: FakeBotApi
) -> None:
    await acme_with_a_history(app, bot_api)
    await owner_says(app, bot_api, "/forget acme")
    await press(app, OWNER_ID, button(sent_to(bot_api, OWNER_ID)[-1], "🗑 Forget"))
    [client] = await rows(app, Client)
    bot_api.clear()

    # The client card's buttons, still on an older message: a language, then a zone.
    await press(app, OWNER_ID, f"o:clpl:{client.id}")
    await press(app, OWNER_ID, f"o:ctz:{client.id}")
    await send_text(app, OWNER_ID, "Europe/Warsaw")

    refusal = (
        "Client 1 has been forgotten (their personal data was erased), so their language "
        "and time zone can no longer be set."
    )
    assert [text for text in bot_api.texts(OWNER_ID) if "forgotten" in text] == [refusal] * 2
    [after] = await rows(app, Client)
    assert (after.locale, after.timezone) == (None, None)
    assert not [
        e
        for e in await rows(app, Event)
        if e.kind.startswith("client_") and e.created_at > client.forgotten_at
    ]


async def test_forget_needs_one_known_client_and_an_owner(app: Any, bot_api: FakeBotApi) -> None:
    await owner_says(app, bot_api, "/newclient Acme")
    await owner_says(app, bot_api, "/newclient Acme Two")
    bot_api.clear()

    [usage] = await owner_says(app, bot_api, "/forget")
    [unknown] = await owner_says(app, bot_api, "/forget Zed")
    [ambiguous] = await owner_says(app, bot_api, "/forget Acm")
    await send_text(app, STRANGER_ID, "/forget Acme")

    assert usage == (
        "Please give the client's name or number, e.g. <code>/forget Acme</code> or "
        "<code>/forget 3</code>."
    )
    assert unknown.startswith('I don\'t know a client called "Zed".')
    assert ambiguous == (
        '"Acm" could be Acme, Acme Two; please write the full name or the client number, '
        "e.g. <code>/forget Acme</code>."
    )
    assert "only for the business owners" in bot_api.texts(STRANGER_ID)[0]
    assert all(call.buttons == [] for call in sent_to(bot_api, OWNER_ID))
    assert [c.forgotten_at for c in await rows(app, Client)] == [None, None]


# --- /mydata ---------------------------------------------------------------------------------
async def link(app: Any, bot_api: FakeBotApi, owner_id: int, name: str, user_id: int) -> None:
    bot_api.clear()
    await send_text(app, owner_id, f"/newclient {name}")
    match = LINK.search(bot_api.texts(owner_id)[0])
    assert match
    await send_text(app, user_id, f"/start {match.group(1)}")


async def invoice_for(app: Any, amount_minor: int) -> int:
    [found] = [i for i in await rows(app, Invoice) if i.amount_minor == amount_minor]
    return int(found.id)


async def test_mydata_shows_each_business_record_and_nobody_elses(
    app: Any, bot_api: FakeBotApi
) -> None:
    await owner_says(app, bot_api, "/settings name Studio Ann")
    await send_text(app, OTHER_OWNER_ID, "/settings name Bolek & Lolek")
    await link(app, bot_api, OWNER_ID, "Acme", CLIENT_USER_ID)
    await link(app, bot_api, OTHER_OWNER_ID, "Ann Smith", CLIENT_USER_ID)  # same person
    await link(app, bot_api, OWNER_ID, "Globex", SECOND_CLIENT_ID)
    await owner_says(app, bot_api, f"/newinvoice Acme 1000 2026-11-24 {DESCRIPTION}")
    await owner_says(app, bot_api, "/newinvoice Acme 50 2026-12-20")
    await owner_says(app, bot_api, "/newinvoice Globex 777 2026-12-01 Globex secret")
    await send_text(app, OTHER_OWNER_ID, "/newinvoice Ann 300 PLN 2026-12-15")
    await run_tick(app)  # Acme's #1 is due today: one reminder
    await press(app, CLIENT_USER_ID, f"c:rq:{await invoice_for(app, 100000)}")
    await send_text(app, CLIENT_USER_ID, "Colours <b>wrong</b>")
    await press(app, CLIENT_USER_ID, f"c:l7:{await invoice_for(app, 5000)}")
    await press(app, CLIENT_USER_ID, f"c:p2:{await invoice_for(app, 30000)}")  # the other one
    bot_api.clear()

    await send_text(app, CLIENT_USER_ID, "/mydata")
    await send_text(app, SECOND_CLIENT_ID, "/mydata")
    await send_text(app, STRANGER_ID, "/mydata")

    [mine] = bot_api.texts(CLIENT_USER_ID)
    assert mine.splitlines() == [
        "🔒 <b>What is stored about you</b> (2 businesses)",
        "",
        "🏢 <b>Studio Ann</b>",
        "Name: Acme",
        f"Telegram: chat <code>{CLIENT_USER_ID}</code>, user <code>{CLIENT_USER_ID}</code>",
        "Language: the business's · Time zone: the business's",
        "Connected: Nov 24, 2026",
        "Reminders sent: 1",
        "<b>Invoices</b>",
        f"• #1: €1,000.00, due Nov 24, 2026, problem reported — {DESCRIPTION}",
        "• #2: €50.00, due Dec 20, 2026, date promised",
        "<b>Promises to pay</b>",
        "• #2: to pay on Dec 1, 2026 — open",
        "<b>Problems you reported</b>",
        '• #1, Nov 24, 2026: quality: "Colours &lt;b&gt;wrong&lt;/b&gt;" — open',
        "",
        "🏢 <b>Bolek &amp; Lolek</b>",
        "Name: Ann Smith",
        f"Telegram: chat <code>{CLIENT_USER_ID}</code>, user <code>{CLIENT_USER_ID}</code>",
        "Language: the business's · Time zone: the business's",
        "Connected: Nov 24, 2026",
        "Reminders sent: 0",
        "<b>Invoices</b>",
        "• #1: PLN300.00, due Dec 15, 2026, plan proposed",
        "<b>Payment plans</b>",
        "• #1: 2 monthly payments — proposed",
        "",
        "To have this erased, ask the business: their /forget command in duebot removes your "
        "personal data.",
    ]
    [theirs] = bot_api.texts(SECOND_CLIENT_ID)
    assert "Name: Globex" in theirs and "Globex secret" in theirs
    assert not [
        text for text in ("Acme", "Ann Smith", "Bolek", "Colours", "Anna") if text in theirs
    ]
    assert str(CLIENT_USER_ID) not in theirs
    assert bot_api.texts(STRANGER_ID) == [
        "Nothing is stored about you here: you aren't connected to any business through this bot."
    ]


async def test_mydata_speaks_the_clients_language_and_only_in_private(
    app: Any, bot_api: FakeBotApi
) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    await press(app, OWNER_ID, f"o:clpl:{(await the_client(app)).id}")
    bot_api.clear()

    await send_text(app, CLIENT_USER_ID, "/mydata")

    [text] = bot_api.texts(CLIENT_USER_ID)
    assert text.startswith("🔒 <b>Co o Państwu przechowujemy</b> (1 firma)")
    assert "Język: pl · Strefa czasowa: jak firmy" in text


async def test_long_mydata_is_split_within_telegrams_limit(app: Any, bot_api: FakeBotApi) -> None:
    await add_linked_client(app, bot_api, "Acme", CLIENT_USER_ID)
    for number in range(1, 41):
        await owner_says(app, bot_api, f"/newinvoice Acme {number} 2026-12-20 {'Design ' * 30}")
    bot_api.clear()

    await send_text(app, CLIENT_USER_ID, "/mydata")

    texts = bot_api.texts(CLIENT_USER_ID)
    assert len(texts) > 1
    assert all(len(text) <= MAX_MESSAGE_LENGTH for text in texts)
    listed = re.findall(r"^• #(\d+): ", "\n".join(texts), flags=re.MULTILINE)
    assert listed == [str(number) for number in range(1, 41)]
    assert texts[-1].endswith("their /forget command in duebot removes your personal data.")
