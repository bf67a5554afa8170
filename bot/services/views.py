"""What services hand back to handlers: plain, frozen values, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class OwnerView:
    id: int
    telegram_user_id: int
    business_name: str
    locale: str
    timezone: str
    currency: str


@dataclass(frozen=True)
class ClientView:
    id: int
    number: int
    name: str
    chat_id: int | None
    locale: str | None
    timezone: str | None
    paused: bool
    blocked: bool
    unreachable: bool
    joined_at: datetime | None

    @property
    def linked(self) -> bool:
        return self.chat_id is not None


@dataclass(frozen=True)
class Balance:
    currency: str
    minor: int


@dataclass(frozen=True)
class ClientSummary:
    client: ClientView
    open_invoices: int
    balances: tuple[Balance, ...]


@dataclass(frozen=True)
class InviteView:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class NewClient:
    client: ClientView
    invite: InviteView
    already_existed: bool


class RedeemOutcome(StrEnum):
    LINKED = "linked"
    ALREADY_LINKED = "already_linked"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Redeemed:
    outcome: RedeemOutcome
    client: ClientView | None = None
    owner: OwnerView | None = None
