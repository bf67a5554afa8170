"""A client's contacts: the chats (people, groups) that get its reminders and may answer.

The client row mirrors them (`chat_id`: the first reachable contact's chat; `unreachable`:
every contact is), kept by `sync_client` in the transaction that changes a contact, so the
engine's checks and the owner's alerts read one row as before. A message to the client as
a whole (reminders, the new-invoice notice, letters, thanks, the owner's notes) goes to
every reachable contact; only answers to a press stay in the chat that pressed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Contacts, EventLog, Owners
from bot.db.session import begin_writing
from bot.db.tables import Client, ClientContact, Owner
from bot.services.alert_outbox import queue_alerts
from bot.services.alerts import Alert
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.owners import owner_transaction
from bot.services.schedule import reschedule_client
from bot.services.views import ClientView, ContactRemoved, ContactView

log = logging.getLogger(__name__)

PRIVATE = "private"
GROUP = "group"
MAX_DISPLAY_NAME = 128


def client_view(client: Client) -> ClientView:
    assert client.id is not None
    return ClientView(
        id=client.id,
        number=client.number,
        name=client.name,
        chat_id=client.chat_id,
        locale=client.locale,
        timezone=client.timezone,
        paused=client.paused,
        blocked=client.blocked,
        unreachable=client.unreachable,
        joined_at=client.joined_at,
        forgotten_at=client.forgotten_at,
    )


def contact_view(contact: ClientContact) -> ContactView:
    assert contact.id is not None
    return ContactView(
        id=contact.id,
        client_id=contact.client_id,
        kind=contact.kind,
        name=contact.display_name,
        unreachable=contact.unreachable,
    )


async def sync_client(
    session: AsyncSession, client: Client, contacts: Sequence[ClientContact] | None = None
) -> None:
    """Mirror the contacts on the client row (see the module's docstring)."""
    assert client.id is not None
    if contacts is None:
        contacts = await Contacts(session).of_client(client.id)
    reachable = [contact for contact in contacts if not contact.unreachable]
    first = reachable[0] if reachable else contacts[0] if contacts else None
    client.chat_id = first.chat_id if first else None
    client.telegram_user_id = first.telegram_user_id if first else None
    client.unreachable = bool(contacts) and not reachable
    session.add(client)


async def mark_contact_lost(
    session: AsyncSession, contact_id: int, chat_id: int, since: datetime
) -> bool:
    """Mark the contact that got Telegram's refusal (403) unreachable, only while it is still
    that chat, reachable, and not back since `since` (the claim: linked anew, a /start, the
    bot added back to the group), as committed at this very write. One statement, so the
    check and the mark cannot be split; a contact moved to another chat, already marked or
    back meanwhile is left alone. Whether it was marked."""
    result = await session.exec(
        update(ClientContact)
        .where(
            col(ClientContact.id) == contact_id,
            col(ClientContact.chat_id) == chat_id,
            col(ClientContact.unreachable).is_(False),
            or_(col(ClientContact.back_at).is_(None), col(ClientContact.back_at) <= since),
        )
        .values(unreachable=True)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


async def contacts_after_marks(
    session: AsyncSession, owner: Owner, client: Client, marked: Sequence[int], now: datetime
) -> list[ClientContact]:
    """After `mark_contact_lost`: the client's contacts as committed now (the conditional
    marks bypass the objects the session may hold), with one `contact_unreachable` event
    for each contact they marked."""
    contacts = await Contacts(session).of_client(client.id or 0)
    for contact in contacts:
        await session.refresh(contact)
    for contact in contacts:
        if contact.id in marked:
            EventLog(session).append(
                owner_id=owner.id or 0,
                client_id=client.id,
                kind="contact_unreachable",
                at=now,
                contact=contact.id,
            )
    return contacts


@dataclass(frozen=True)
class Answerer:
    """Who pressed a client's button, as the owner's alert names them."""

    contact: ClientContact
    name: str


def _person_of(contact: ClientContact) -> int | None:
    if contact.telegram_user_id is not None:
        return contact.telegram_user_id
    return contact.chat_id if contact.kind == PRIVATE else None


async def answerer(
    session: AsyncSession, client: Client, chat_id: int, user_id: int | None, user_name: str
) -> Answerer:
    """The contact a press counts for; Refused when the presser is none of the client's.

    A private chat answers for itself. In a linked group, only members who are contacts
    themselves (their own link, or who linked the group) may answer, by a press or by a
    date or details typed there as a reply to the bot's prompt (handlers.pending). The
    member who linked the group also answers for it from their own private chat (an
    answer asked for there, before questions were asked in the group itself).
    """
    assert client.id is not None
    contacts = await Contacts(session).of_client(client.id)
    person = user_id if user_id is not None else chat_id
    in_chat = next((c for c in contacts if c.chat_id == chat_id), None)
    own = next((c for c in contacts if c.kind == PRIVATE and _person_of(c) == person), None)
    linker = next((c for c in contacts if c.kind == GROUP and _person_of(c) == person), None)
    if in_chat is not None and in_chat.kind == PRIVATE:
        return Answerer(in_chat, _learn_name(session, in_chat, user_name))
    if in_chat is not None and (own or linker):
        name = own.display_name if own and own.display_name else user_name
        return Answerer(
            in_chat, f"{name} ({in_chat.display_name})" if name else in_chat.display_name
        )
    if in_chat is not None:
        raise Refused("not_contact")
    if chat_id == person and linker is not None:
        return Answerer(linker, f"{user_name} ({linker.display_name})" if user_name else "")
    raise Refused("not_yours")


def _learn_name(session: AsyncSession, contact: ClientContact, user_name: str) -> str:
    """Contacts linked before names were kept get theirs the first time they answer."""
    if not contact.display_name and user_name:
        contact.display_name = user_name[:MAX_DISPLAY_NAME]
        session.add(contact)
    return contact.display_name or user_name


class ContactService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def remove(self, owner_user_id: int, display: str, contact_id: int) -> ContactRemoved:
        """The owner's button on the client card: this chat gets nothing more."""
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            contact = await session.get(ClientContact, contact_id)
            client = await session.get(Client, contact.client_id) if contact else None
            if contact is None or client is None or client.owner_id != owner.id:
                raise Refused("stale")
            removed = contact_view(contact)
            await session.delete(contact)
            await session.flush()
            left = await Contacts(session).of_client(contact.client_id)
            await sync_client(session, client, left)
            EventLog(session).append(
                owner_id=owner.id or 0,
                client_id=client.id,
                kind="contact_removed",
                at=now,
                contact=contact_id,
            )
            await reschedule_client(session, client, owner, now)
            return ContactRemoved(client_view(client), removed, last=not left)

    async def bot_left_chat(self, chat_id: int) -> int:
        """The bot was removed from a group (or blocked in a private chat): those contacts
        get nothing more and each owner hears once (a contact already unreachable is
        quiet). Returns how many contacts were lost."""
        now = self.deps.clock.now()
        alerts: list[Alert] = []
        async with self.deps.sessions() as session, session.begin():
            for contact in await Contacts(session).in_chat(chat_id):
                if contact.unreachable:
                    continue
                contact.unreachable = True
                session.add(contact)
                client = await session.get(Client, contact.client_id)
                assert client is not None
                owner = await Owners(session).get(client.owner_id)
                assert owner is not None
                was_unreachable = client.unreachable
                await sync_client(session, client)
                EventLog(session).append(
                    owner_id=owner.id or 0,
                    client_id=client.id,
                    kind="contact_unreachable",
                    at=now,
                    contact=contact.id,
                )
                if client.unreachable and not was_unreachable:
                    EventLog(session).append(
                        owner_id=owner.id or 0,
                        client_id=client.id,
                        kind="client_unreachable",
                        at=now,
                    )
                alerts.append(contact_lost_alert(owner, client, contact))
            # With the change: the owner hears exactly what was committed.
            return queue_alerts(session, alerts, now)

    async def back_in_chat(self, chat_id: int) -> list[ClientView]:
        """A contact who writes again (unblocked the bot, added it back to the group) is
        reachable again; their client's parked invoices go back on the schedule."""
        now = self.deps.clock.now()
        async with self.deps.sessions() as session, session.begin():
            # Read under the write lock (SQLite) or the row's (PostgreSQL, below): a tick
            # recording a refusal to this chat marks it before or after, never across.
            await begin_writing(session)
            contacts = await Contacts(session).in_chat(chat_id)
            views = []
            for contact in contacts:
                await session.refresh(contact, with_for_update={"key_share": True})
                client = await session.get(Client, contact.client_id)
                assert client is not None
                # Even while reachable: a send refused (403) before now, not yet recorded,
                # must not mark it unreachable (see ReminderOutbox.record).
                contact.back_at = now
                session.add(contact)
                if contact.unreachable:
                    contact.unreachable = False
                    was_unreachable = client.unreachable
                    await sync_client(session, client)
                    owner = await Owners(session).get(client.owner_id)
                    assert owner is not None
                    if was_unreachable:
                        EventLog(session).append(
                            owner_id=client.owner_id,
                            client_id=client.id,
                            kind="client_back",
                            at=now,
                        )
                    await reschedule_client(session, client, owner, now)
                views.append(client_view(client))
            return views

    async def chat_moved(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group upgraded to a supergroup gets a new id; its contacts follow it."""
        async with self.deps.sessions() as session, session.begin():
            for contact in await Contacts(session).in_chat(old_chat_id):
                contact.chat_id = new_chat_id
                session.add(contact)
                client = await session.get(Client, contact.client_id)
                assert client is not None
                await session.flush()
                await sync_client(session, client)


def contact_lost_alert(owner: Owner, client: Client, contact: ClientContact) -> Alert:
    """One contact stopped getting reminders (blocked the bot, removed it from the group);
    says whether anyone of the client is still reached."""
    assert client.id is not None
    return Alert(
        owner.telegram_user_id,
        owner.locale,
        "owner/alerts/contact_lost",
        {
            "client_name": client.name,
            "contact_name": contact.display_name,
            "group": contact.kind == GROUP,
            "nobody_left": client.unreachable,
        },
        (("invite", client.id),),
    )


async def contacts_of(session: AsyncSession, client_id: int) -> tuple[ContactView, ...]:
    return tuple(contact_view(c) for c in await Contacts(session).of_client(client_id))


async def is_contact_chat(session: AsyncSession, chat_id: int) -> bool:
    found = await session.exec(
        select(col(ClientContact.id)).where(ClientContact.chat_id == chat_id).limit(1)
    )
    return found.first() is not None


async def other_chats(session: AsyncSession, client: Client) -> tuple[int, ...]:
    """The reachable contacts' chats besides `client.chat_id` (the first): a message for
    the client as a whole (thanks, the owner's decision) reaches each of them too."""
    assert client.id is not None
    return tuple(
        contact.chat_id
        for contact in await Contacts(session).of_client(client.id)
        if not contact.unreachable and contact.chat_id != client.chat_id
    )
