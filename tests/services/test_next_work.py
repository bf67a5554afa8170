"""ReminderService.next_work_at: the earliest moment a tick would find work. Tests jump
simulated time there (tests/handlers/engine_helpers.tick_until), so a moment it misses
is a reminder or an alert a test would see late: each kind of work is checked here."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.clock import FrozenClock
from bot.db.claims import STUCK_AFTER
from bot.db.tables import Invoice, Reminder
from bot.services import Services
from bot.services.reminders import FULL_SWEEP_EVERY
from scheduler.tick import Engine
from tests.conftest import CLIENT_USER_ID, OWNER_ID, START

OWNER = "Ann"
WEEK = timedelta(days=7)


async def stored_invoice(services: Services) -> Invoice:
    async with services.deps.sessions() as session:
        return (await session.exec(select(Invoice))).one()


async def linked_client_with_invoice(services: Services, due: str = "2026-12-04") -> None:
    added = await services.clients.add(OWNER_ID, OWNER, "Acme")
    await services.clients.redeem_invite(added.invite.token, CLIENT_USER_ID, CLIENT_USER_ID)
    await services.invoices.create_from_words(OWNER_ID, OWNER, ["Acme", "1200", due])


async def test_nothing_waits_on_time_in_empty_books(services: Services) -> None:
    assert await services.reminders.next_work_at(START) is None
    await services.clients.add(OWNER_ID, OWNER, "Acme")  # an invite, but nothing owed
    assert await services.reminders.next_work_at(START) is None


async def test_next_work_is_the_earliest_invoice_look(services: Services) -> None:
    await linked_client_with_invoice(services)
    invoice = await stored_invoice(services)
    assert invoice.next_reminder_at is not None and invoice.next_reminder_at > START

    assert await services.reminders.next_work_at(START) == invoice.next_reminder_at


async def test_an_invoice_look_already_due_is_work_for_the_very_next_tick(
    services: Services,
) -> None:
    await linked_client_with_invoice(services)
    invoice = await stored_invoice(services)
    assert invoice.next_reminder_at is not None
    later = invoice.next_reminder_at + timedelta(hours=3)

    found = await services.reminders.next_work_at(later)

    assert found is not None and later < found <= later + timedelta(seconds=1)


async def test_an_unopened_invite_is_work_once_the_owner_should_hear_of_it(
    services: Services,
) -> None:
    await services.clients.add(OWNER_ID, OWNER, "Acme")
    await services.invoices.create_from_words(OWNER_ID, OWNER, ["Acme", "1200", "2027-01-20"])
    first_look = (await stored_invoice(services)).next_reminder_at
    assert first_look is not None and first_look > START + WEEK

    assert await services.reminders.next_work_at(START) == START + WEEK


async def test_a_claim_left_sending_is_work_once_it_counts_as_interrupted(
    services: Services,
) -> None:
    await linked_client_with_invoice(services)
    invoice = await stored_invoice(services)
    assert invoice.id is not None
    async with services.deps.sessions() as session, session.begin():
        invoice.next_reminder_at = None  # in flight, as a claim leaves it
        session.add(invoice)
        session.add(
            Reminder(
                invoice_id=invoice.id,
                stage="due",
                due_at=START,
                status="sending",
                claimed_at=START,
                attempts=1,
                chat_id=CLIENT_USER_ID,
            )
        )

    found = await services.reminders.next_work_at(START)

    assert found is not None and START + STUCK_AFTER < found <= START + STUCK_AFTER * 2


async def test_an_aged_invite_only_a_sweep_can_find_waits_for_the_next_sweep(
    services: Services, clock: FrozenClock
) -> None:
    await services.clients.add(OWNER_ID, OWNER, "Acme")
    clock.advance(WEEK + timedelta(days=1))
    engine = Engine(services)
    await engine.tick()  # sweeps: nothing owed, so nothing to say
    # An invoice now waits on a client who never joined: the next sweep finds it.
    await services.invoices.create_from_words(OWNER_ID, OWNER, ["Acme", "1200", "2027-01-20"])

    assert await services.reminders.next_work_at(clock.now()) == clock.now() + FULL_SWEEP_EVERY

    clock.advance(FULL_SWEEP_EVERY)
    report = await engine.tick()
    assert report.alerts == 1
    # Told once: what is left is the invoice's own first look.
    first_look = (await stored_invoice(services)).next_reminder_at
    assert await services.reminders.next_work_at(clock.now()) == first_look
