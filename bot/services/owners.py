"""Owners: the people in OWNER_IDS. Their row is made on first contact with the defaults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.repositories import EventLog, Owners
from bot.db.tables import Owner
from bot.domain.digest import next_digest_at, parse_digest_time
from bot.domain.text import one_line
from bot.services.deps import Deps
from bot.services.views import OwnerView


def owner_view(owner: Owner) -> OwnerView:
    assert owner.id is not None
    return OwnerView(
        id=owner.id,
        telegram_user_id=owner.telegram_user_id,
        business_name=owner.business_name,
        locale=owner.locale,
        timezone=owner.timezone,
        currency=owner.currency,
    )


async def get_or_create_owner(
    session: AsyncSession, deps: Deps, telegram_user_id: int, display_name: str
) -> Owner:
    owners = Owners(session)
    owner = await owners.by_telegram_id(telegram_user_id)
    if owner is not None:
        return owner
    settings = deps.settings
    owner = Owner(
        telegram_user_id=telegram_user_id,
        # Until the owner sets a business name, reminders are signed with their own name.
        business_name=(one_line(display_name) or "Your supplier")[:200],
        locale=settings.default_locale,
        timezone=settings.default_timezone,
        currency=settings.default_currency,
        reminder_hours=settings.reminder_hours,
        reminder_days=settings.reminder_days,
        created_at=deps.clock.now(),
    )
    # The daily digest (DEFAULT_DIGEST, 09:00 unless set) in the owner's time zone.
    owner.digest_time = parse_digest_time(settings.default_digest)
    owner.next_digest_at = (
        None
        if owner.digest_time is None
        else next_digest_at(deps.clock.now(), owner.digest_time, owner.timezone, None)
    )
    session.add(owner)
    await session.flush()
    assert owner.id is not None
    EventLog(session).append(owner_id=owner.id, kind="owner_registered", at=deps.clock.now())
    return owner


class OwnerService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def is_owner(self, telegram_user_id: int) -> bool:
        return telegram_user_id in self.deps.settings.owner_ids

    async def ensure(self, telegram_user_id: int, display_name: str) -> OwnerView:
        async with self.deps.sessions() as session, session.begin():
            owner = await get_or_create_owner(session, self.deps, telegram_user_id, display_name)
            return owner_view(owner)


@asynccontextmanager
async def owner_transaction(
    deps: Deps, telegram_user_id: int, display_name: str
) -> AsyncIterator[tuple[AsyncSession, Owner]]:
    """One transaction on behalf of an owner (created on first contact)."""
    async with deps.sessions() as session, session.begin():
        yield session, await get_or_create_owner(session, deps, telegram_user_id, display_name)
