"""Clients: adding them, inviting them, listing them, and linking their chat."""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import Clients, Contacts, EventLog, Invites, Owners
from bot.db.tables import Client, ClientContact, Invite, Owner
from bot.domain.invites import (
    INVITE_LIFETIME,
    InviteState,
    invite_state,
    looks_like_token,
    new_invite_token,
)
from bot.domain.names import clean_name, name_key
from bot.domain.sendtime import local_today
from bot.services.alert_outbox import queue_alerts
from bot.services.alerts import Alert
from bot.services.contacts import (
    GROUP,
    MAX_DISPLAY_NAME,
    PRIVATE,
    ContactService,
    client_view,
    contacts_of,
    is_contact_chat,
    sync_client,
)
from bot.services.deps import Deps
from bot.services.errors import Refused
from bot.services.history import client_history
from bot.services.money import open_balances
from bot.services.owners import owner_transaction, owner_view
from bot.services.promises import promise_record
from bot.services.schedule import reschedule_client
from bot.services.views import (
    Balance,
    ClientCard,
    ClientSummary,
    ClientView,
    ContactView,
    InviteView,
    NewClient,
    Redeemed,
    RedeemOutcome,
)

log = logging.getLogger(__name__)


class ClientService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def add(self, owner_user_id: int, owner_display: str, raw_name: str) -> NewClient:
        """Create a client, or find the one with that name; either way issue a fresh invite.

        Raises bot.domain.names.InvalidName for a name that cannot be stored.
        """
        name = clean_name(raw_name)
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, owner_display) as (session, owner):
            assert owner.id is not None
            client = await Clients(session).by_name_key(owner.id, name_key(name))
            existed = client is not None
            if client is None:
                client = Client(
                    owner_id=owner.id,
                    number=await Owners(session).take_client_number(owner.id),
                    name=name,
                    name_key=name_key(name),
                    created_at=now,
                )
                session.add(client)
                await session.flush()
            assert client.id is not None
            invite = await self._issue_invite(session, client.id)
            client.invite_alerted_at = None  # a fresh link earns a fresh week before an alert
            session.add(client)
            EventLog(session).append(
                owner_id=owner.id,
                client_id=client.id,
                kind="invite_issued" if existed else "client_created",
                at=now,
            )
            return NewClient(
                client=client_view(client),
                invite=InviteView(token=invite.token, expires_at=invite.expires_at),
                already_existed=existed,
            )

    async def _issue_invite(
        self, session: AsyncSession, client_id: int, *, extra: bool = False
    ) -> Invite:
        now = self.deps.clock.now()
        invite = Invite(
            client_id=client_id,
            token=new_invite_token(),
            created_at=now,
            expires_at=now + INVITE_LIFETIME,
            extra=extra,
        )
        session.add(invite)
        await session.flush()
        return invite

    async def summaries(self, owner_user_id: int, owner_display: str) -> list[ClientSummary]:
        async with owner_transaction(self.deps, owner_user_id, owner_display) as (session, owner):
            assert owner.id is not None
            clients = await Clients(session).for_owner(owner.id)
            balances = await open_balances(session, owner, clients, self.deps.clock.now())
        summaries = []
        for client in clients:
            assert client.id is not None
            per_currency = balances.get(client.id, {})
            summaries.append(
                ClientSummary(
                    client=client_view(client),
                    open_invoices=sum(count for count, _ in per_currency.values()),
                    balances=tuple(
                        Balance(currency, owed)
                        for currency, (_, owed) in sorted(per_currency.items())
                    ),
                )
            )
        return summaries

    async def redeem_invite(
        self,
        token: str,
        chat_id: int,
        user_id: int,
        *,
        group_title: str | None = None,
        user_name: str = "",
    ) -> Redeemed:
        """Link the chat that opened an invite link to the client it was made for: one more
        contact (a person, or the group `group_title` with `user_id` who linked it)."""
        if not looks_like_token(token):
            return Redeemed(RedeemOutcome.UNKNOWN)
        now = self.deps.clock.now()
        group = group_title is not None
        async with self.deps.sessions() as session, session.begin():
            invite = await Invites(session).by_token(token)
            if invite is None:
                return Redeemed(RedeemOutcome.UNKNOWN)
            client = await session.get(Client, invite.client_id)
            assert client is not None and client.id is not None
            owner = await Owners(session).get(client.owner_id)
            assert owner is not None
            contacts = await Contacts(session).of_client(client.id)
            known = next((c for c in contacts if c.chat_id == chat_id), None)
            state = invite_state(invite.expires_at, invite.used_at, now)
            if state is InviteState.USED:
                same_person = invite.used_by_chat_id == chat_id and known is not None
                if same_person and known is not None and not known.unreachable:
                    known.back_at = now  # hears the bot (see below)
                    session.add(known)
                outcome = RedeemOutcome.ALREADY_LINKED if same_person else RedeemOutcome.USED
                return Redeemed(outcome, client_view(client), owner_view(owner), group)
            if state is InviteState.EXPIRED:
                return Redeemed(RedeemOutcome.EXPIRED, client_view(client), owner_view(owner))
            if known is not None and not known.unreachable:
                # Already a contact: the link stays for the person it was meant for. The
                # chat hears the bot: a refusal to a send before this is stale.
                known.back_at = now
                session.add(known)
                return Redeemed(
                    RedeemOutcome.ALREADY_LINKED, client_view(client), owner_view(owner), group
                )
            if client.forgotten_at is not None:
                return Redeemed(RedeemOutcome.USED, client_view(client), owner_view(owner), group)
            first = not any(not c.unreachable for c in contacts)
            contact = self._link(
                session,
                owner,
                client,
                invite,
                known,
                chat_id,
                user_id,
                GROUP if group else PRIVATE,
                group_title or user_name,
            )
            await session.flush()
            await sync_client(session, client, await Contacts(session).of_client(client.id))
            if not invite.extra:
                await Invites(session).retire_for_client(invite.client_id, now, chat_id)
            # Invoices added before the client joined were parked; now they can be reminded.
            await reschedule_client(session, client, owner, now)
            result = Redeemed(RedeemOutcome.LINKED, client_view(client), owner_view(owner), group)
            joined = ContactView(
                contact.id or 0, client.id, contact.kind, contact.display_name, False
            )
            # With the link: the owner hears of it once it is committed, and surely.
            news = Alert(
                owner.telegram_user_id,
                owner.locale,
                "owner/client_joined" if first else "owner/contact_joined",
                {
                    "client": {"name": client.name},
                    "contact": {"name": joined.name, "is_group": joined.is_group},
                },
            )
            queue_alerts(session, [news], now)
        return result

    async def is_client_chat(self, chat_id: int) -> bool:
        """Whether this chat is a contact of any owner's client (ix_client_contacts_chat_id)."""
        async with self.deps.sessions() as session:
            return await is_contact_chat(session, chat_id)

    async def reconnect(self, chat_id: int) -> list[ClientView]:
        """A known contact who writes again (e.g. unblocked the bot) is reachable again."""
        return await ContactService(self.deps).back_in_chat(chat_id)

    async def invite_more(self, owner_user_id: int, display: str, ref: str) -> NewClient:
        """/invite <client>: a link for one more contact of a client (their accountant, a
        colleague, their team's group); the links already given keep working."""
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            assert owner.id is not None
            matches = await Clients(session).resolve(owner.id, ref)
            if not matches:
                raise Refused("unknown_client", name=ref)
            if len(matches) > 1:
                raise Refused("ambiguous_client", name=ref, names=[c.name for c in matches])
            client = matches[0]
            assert client.id is not None
            if client.forgotten_at is not None:
                raise Refused("already_forgotten", name=client.name)
            linked = bool(await Contacts(session).of_client(client.id))
            invite = await self._issue_invite(session, client.id, extra=linked)
            EventLog(session).append(
                owner_id=owner.id, client_id=client.id, kind="invite_issued", at=invite.created_at
            )
            return NewClient(
                client=client_view(client),
                invite=InviteView(token=invite.token, expires_at=invite.expires_at),
                already_existed=True,
                more=linked,
            )

    async def invite_again(self, owner_user_id: int, display: str, client_id: int) -> NewClient:
        """A fresh invite link for an existing client (the alert's button)."""
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            client = await session.get(Client, client_id)
            if client is None or client.owner_id != owner.id:
                raise Refused("unknown_client", name=str(client_id))
            if client.forgotten_at is not None:  # a link would tie a new chat to the record
                raise Refused("already_forgotten", name=client.name)
            invite = await self._issue_invite(session, client_id)
            client.invite_alerted_at = None
            session.add(client)
            return NewClient(
                client=client_view(client),
                invite=InviteView(token=invite.token, expires_at=invite.expires_at),
                already_existed=True,
            )

    async def card(self, owner_user_id: int, display: str, ref: str) -> ClientCard:
        """A client by number or name, with balances and their payment record."""
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            assert owner.id is not None
            matches = await Clients(session).resolve(owner.id, ref)
            if not matches:
                raise Refused("unknown_client", name=ref)
            if len(matches) > 1:
                raise Refused("ambiguous_client", name=ref, names=[c.name for c in matches])
            client = matches[0]
            assert client.id is not None
            balances = await open_balances(session, owner, [client], self.deps.clock.now())
            per_currency = balances.get(client.id, {})
            kept, broken = await promise_record(session, client.id)
            today = local_today(self.deps.clock.now(), owner.timezone)
            history = await client_history(session, client, owner, today)
            summary = ClientSummary(
                client=client_view(client),
                open_invoices=sum(count for count, _ in per_currency.values()),
                balances=tuple(
                    Balance(currency, owed) for currency, (_, owed) in sorted(per_currency.items())
                ),
            )
            return ClientCard(
                summary,
                kept,
                broken,
                client.timezone or owner.timezone,
                client.locale or owner.locale,
                history,
                await contacts_of(session, client.id),
            )

    async def switch(
        self, owner_user_id: int, display: str, client_id: int, action: str
    ) -> ClientView:
        """pauseall / unpauseall / block / unblock a client from their card."""
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            client = await session.get(Client, client_id)
            if client is None or client.owner_id != owner.id:
                raise Refused("unknown_client", name=str(client_id))
            if action in ("pauseall", "unpauseall"):
                client.paused = action == "pauseall"
            elif action in ("block", "unblock"):
                client.blocked = action == "block"
            else:
                raise Refused("stale")
            session.add(client)
            EventLog(session).append(
                owner_id=owner.id or 0, client_id=client.id, kind=f"client_{action}", at=now
            )
            # Unpausing or unblocking brings parked invoices back onto their schedule.
            await reschedule_client(session, client, owner, now)
            return client_view(client)

    def _link(
        self,
        session: AsyncSession,
        owner: Owner,
        client: Client,
        invite: Invite,
        known: ClientContact | None,
        chat_id: int,
        user_id: int,
        kind: str,
        name: str,
    ) -> ClientContact:
        now = self.deps.clock.now()
        invite.used_at = now
        invite.used_by_chat_id = chat_id
        # A contact that had blocked the bot and opens a fresh link is the same contact.
        contact = known or ClientContact(client_id=client.id or 0, chat_id=chat_id, linked_at=now)
        contact.kind = kind
        contact.telegram_user_id = user_id
        contact.display_name = name[:MAX_DISPLAY_NAME]
        contact.unreachable = False
        contact.back_at = now
        client.joined_at = client.joined_at or now
        session.add_all([invite, client, contact])
        assert owner.id is not None
        EventLog(session).append(
            owner_id=owner.id, client_id=client.id, kind="client_joined", at=now, chat_id=chat_id
        )
        log.info("client %s of owner %s: a contact joined", client.id, owner.id)
        return contact
