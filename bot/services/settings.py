"""Owner settings (SPEC §3 /settings) and per-client overrides (language, time zone).

Each change is validated first, saved in one transaction, and re-plans the open
invoices it affects, so the next tick already follows it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import holidays
from babel.numbers import is_currency

from bot.config import SUPPORTED_LOCALES, is_timezone
from bot.db.repositories import Clients, EventLog
from bot.db.tables import Client, Owner
from bot.domain.invoice_input import is_pay_link
from bot.domain.ladder import (
    DEFAULT_LADDER,
    LadderError,
    Stage,
    add_stage,
    ladder_pairs,
    move_stage,
    remove_stage,
)
from bot.domain.money import MoneyError, parse_amount
from bot.domain.reminder_data import NEXT_STEPS
from bot.domain.schedule import ScheduleError, format_days, parse_days, parse_hours
from bot.domain.text import one_line
from bot.services.contacts import client_view
from bot.services.deps import Deps
from bot.services.digest import schedule_digest
from bot.services.errors import Refused
from bot.services.owners import owner_transaction
from bot.services.schedule import ladder_for, reschedule_client
from bot.services.statutory_settings import (
    check_statutory,
    set_compensation,
    set_country,
    statutory_percent_on,
)
from bot.services.views import ClientView

FIELDS = (
    "name",
    "language",
    "timezone",
    "currency",
    "paylink",
    "instructions",
    "hours",
    "days",
    "holidays",
    "ignored",
    "invitedays",
    "nextstep",
)
THRESHOLD_LIMITS = {"ignored": (1, 20), "invitedays": (1, 60)}
MONEY_FIELDS = ("latefee", "interest", "settlement", "earlydiscount")
MAX_FLAT_FEE = Decimal(1_000_000)
PERCENT_LIMITS = {
    "latefee": Decimal(50),
    "interest": Decimal(100),
    "settlement": Decimal(90),
    "earlydiscount": Decimal(50),
}
CLIENT_FIELDS = ("language", "timezone")
CLEARING_WORDS = ("none", "off", "-")
MAX_NAME = 200
MAX_INSTRUCTIONS = 1000
# Changing one of these moves every open invoice's next reminder.
RESCHEDULING = frozenset({"timezone", "hours", "days", "holidays", "ladder"})


@dataclass(frozen=True)
class SettingsView:
    business_name: str
    locale: str
    timezone: str
    currency: str
    pay_link: str | None
    pay_instructions: str | None
    reminder_hours: str
    reminder_days: str
    ladder: tuple[tuple[str, int], ...]
    holidays_country: str | None
    ignored_alert_after: int
    invite_alert_days: int
    late_fee_kind: str
    late_fee_value: str
    interest_percent: str | None
    interest_from: str
    settlement_percent: str | None
    settlement_days: int
    early_discount_percent: str | None
    bank_account: str | None = None  # /settings iban (handlers.bank): "IBAN · holder"
    # i13c: the law of the owner's country
    country: str | None = None
    interest_statutory: bool = False
    compensation: bool = False
    statutory_percent: str | None = None  # the statutory rate today, when there is a table
    next_step: str = "call"
    notify: bool = True  # i17: new invoices are announced to the client
    digest_time: str | None = None  # the daily digest's local time; None: off


def settings_view(owner: Owner, today: date | None = None) -> SettingsView:
    return SettingsView(
        owner.business_name,
        owner.locale,
        owner.timezone,
        owner.currency,
        owner.pay_link,
        owner.pay_instructions,
        owner.reminder_hours,
        owner.reminder_days,
        tuple(ladder_pairs(ladder_for(owner))),
        owner.holidays_country,
        owner.ignored_alert_after,
        owner.invite_alert_days,
        owner.late_fee_kind,
        owner.late_fee_value,
        owner.interest_percent,
        owner.interest_from,
        owner.settlement_percent,
        owner.settlement_days,
        owner.early_discount_percent,
        f"{owner.bank_iban} · {owner.bank_holder}" if owner.bank_iban else None,
        owner.country,
        owner.interest_statutory,
        owner.compensation,
        statutory_percent_on(owner.country, today),
        owner.next_step,
        owner.notify_invoices,
        owner.digest_time,
    )


def _clean(field: str, raw: str) -> str | None:
    """The stored form of a setting, or Refused with the reason."""
    value = one_line(raw)
    if field in ("paylink", "instructions", "holidays") and value.lower() in CLEARING_WORDS:
        return None
    if not value:
        raise Refused("setting_missing", field=field)
    if field == "nextstep":
        # Named in formal and final notices: only a step the owner chose is ever threatened.
        if value.lower() not in NEXT_STEPS:
            raise Refused("setting_bad", field=field)
        return value.lower()
    if field == "name":
        if len(value) > MAX_NAME:
            raise Refused("setting_bad", field=field)
        return value
    if field == "language":
        if value.lower() not in SUPPORTED_LOCALES:
            raise Refused("setting_bad", field=field)
        return value.lower()
    if field == "timezone":
        if not is_timezone(value):
            raise Refused("setting_bad", field=field)
        return value
    if field == "currency":
        if not (len(value) == 3 and value.isalpha() and is_currency(value.upper())):
            raise Refused("setting_bad", field=field)
        return value.upper()
    if field == "paylink":
        if not is_pay_link(value) or " " in value:
            raise Refused("setting_bad", field=field)
        return value
    if field == "instructions":
        if len(value) > MAX_INSTRUCTIONS:
            raise Refused("setting_bad", field=field)
        return value
    if field == "holidays":
        if value.upper() not in holidays.list_supported_countries():
            raise Refused("setting_bad", field=field)
        return value.upper()
    if field in THRESHOLD_LIMITS:
        low, high = THRESHOLD_LIMITS[field]
        # isdecimal, not isdigit: "²" is a digit that int() cannot read.
        if not value.isdecimal() or not low <= int(value) <= high:
            raise Refused("setting_bad", field=field, low=low, high=high)
        return value
    try:
        if field == "hours":
            return str(parse_hours(value))
        if field == "days":
            return format_days(parse_days(value))
    except ScheduleError:
        raise Refused("setting_bad", field=field) from None
    raise Refused("setting_unknown", field=field)


_COLUMNS = {
    "name": "business_name",
    "language": "locale",
    "timezone": "timezone",
    "currency": "currency",
    "paylink": "pay_link",
    "instructions": "pay_instructions",
    "hours": "reminder_hours",
    "days": "reminder_days",
    "holidays": "holidays_country",
    "ignored": "ignored_alert_after",
    "invitedays": "invite_alert_days",
    "nextstep": "next_step",
}


def _percent(text: str, field: str) -> Decimal:
    try:
        value = Decimal(text.rstrip("%").replace(",", "."))
    except InvalidOperation:
        raise Refused("setting_bad", field=field) from None
    if (
        not value.is_finite()
        or not 0 < value <= PERCENT_LIMITS[field]
        or value != value.quantize(Decimal("0.01"))
    ):
        raise Refused("setting_bad", field=field)
    return value.normalize()


def _clear_money(owner: Owner, field: str) -> None:
    if field == "latefee":
        owner.late_fee_kind, owner.late_fee_value = "none", "0"
    elif field == "interest":
        owner.interest_percent, owner.interest_statutory = None, False
    elif field == "settlement":
        owner.settlement_percent = None
    else:
        owner.early_discount_percent = None


def _set_money(owner: Owner, field: str, words: list[str], ladder: Sequence[Stage]) -> None:
    if not words:
        raise Refused("setting_missing", field=field)
    if field == "latefee":
        if len(words) != 1:
            raise Refused("setting_bad", field=field)
        if words[0].endswith("%"):
            owner.late_fee_kind, owner.late_fee_value = "percent", str(_percent(words[0], field))
            return
        try:
            amount = parse_amount(words[0])
        except MoneyError:
            raise Refused("setting_bad", field=field) from None
        if not 0 < amount <= MAX_FLAT_FEE or amount != amount.quantize(Decimal("0.01")):
            raise Refused("setting_bad", field=field)
        owner.late_fee_kind, owner.late_fee_value = "flat", str(amount.normalize())
    elif field == "interest":
        # `8`, `8 from formal`, `statutory` or `statutory from formal`
        if len(words) not in (1, 3) or (len(words) == 3 and words[1] != "from"):
            raise Refused("setting_bad", field=field)
        start = words[2] if len(words) == 3 else owner.interest_from
        if start not in {stage.name for stage in ladder}:
            raise Refused("setting_bad_stage", field=field, given=start)
        if words[0] == "statutory":  # i13c: the rate of the owner's country, by period
            check_statutory(owner.country)
            owner.interest_percent, owner.interest_statutory = None, True
            owner.interest_from = start
            return
        owner.interest_percent, owner.interest_from = str(_percent(words[0], field)), start
        owner.interest_statutory = False
    elif field == "settlement":
        # `10%` or `10% 14` (percent off, days to pay)
        if len(words) > 2 or (len(words) == 2 and not words[1].isdecimal()):
            raise Refused("setting_bad", field=field)
        days = int(words[1]) if len(words) == 2 else owner.settlement_days
        if not 1 <= days <= 90:
            raise Refused("setting_bad", field=field)
        owner.settlement_percent, owner.settlement_days = str(_percent(words[0], field)), days
    else:
        if len(words) != 1:
            raise Refused("setting_bad", field=field)
        owner.early_discount_percent = str(_percent(words[0], field))


def _offset(text: str) -> int:
    cleaned = text.strip().replace("+", "", 1)
    if not cleaned.lstrip("-").isdecimal():
        raise LadderError("offset_range")
    return int(cleaned)


class SettingsService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def change_money(
        self, owner_user_id: int, display: str, field: str, raw: str
    ) -> SettingsView:
        """latefee / interest / settlement / earlydiscount: all off until the owner says so."""
        words = raw.lower().split()
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            if words and words[0] in CLEARING_WORDS:
                _clear_money(owner, field)
            else:
                _set_money(owner, field, words, ladder_for(owner))
            session.add(owner)
            EventLog(session).append(owner_id=owner.id or 0, kind=f"setting_{field}", at=now)
            return settings_view(owner, now.date())

    async def change_law(
        self, owner_user_id: int, display: str, field: str, raw: str
    ) -> SettingsView:
        """i13c: `country PL` / `country none`, `compensation on` / `off` (SPEC §3)."""
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            if field == "country":
                set_country(owner, raw)
            else:
                set_compensation(owner, raw)
            session.add(owner)
            EventLog(session).append(owner_id=owner.id or 0, kind=f"setting_{field}", at=now)
            return settings_view(owner, now.date())

    async def change_notify(self, owner_user_id: int, display: str, raw: str) -> SettingsView:
        """i17: `notify on` / `notify off` (new invoices announced to the client);
        `toggle` is the /settings menu's button."""
        word = raw.strip().lower()
        if word not in ("on", "off", "toggle"):
            raise Refused("setting_bad", field="notify")
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            owner.notify_invoices = not owner.notify_invoices if word == "toggle" else word == "on"
            session.add(owner)
            EventLog(session).append(owner_id=owner.id or 0, kind="setting_notify", at=now)
            return settings_view(owner, now.date())

    async def show(self, owner_user_id: int, display: str) -> SettingsView:
        async with owner_transaction(self.deps, owner_user_id, display) as (_, owner):
            return settings_view(owner, self.deps.clock.now().date())

    async def change(self, owner_user_id: int, display: str, field: str, raw: str) -> SettingsView:
        if field not in FIELDS:
            raise Refused("setting_unknown", field=field)
        value = _clean(field, raw)
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            column = _COLUMNS[field]
            setattr(owner, column, int(value) if value and field in THRESHOLD_LIMITS else value)
            session.add(owner)
            EventLog(session).append(owner_id=owner.id or 0, kind=f"setting_{field}", at=now)
            if field in RESCHEDULING:
                for client in await Clients(session).for_owner(owner.id or 0):
                    await reschedule_client(session, client, owner, now)
            if field == "timezone":  # the digest keeps its local time in the new zone
                schedule_digest(owner, now)
            return settings_view(owner)

    async def edit_ladder(self, owner_user_id: int, display: str, words: list[str]) -> SettingsView:
        """`add <kind> <offset>`, `remove <stage>`, `move <stage> <offset>`, `reset`.

        Open invoices are re-planned; stages already sent are never sent again.
        """
        op = words[0].lower() if words else ""
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            ladder = ladder_for(owner)
            try:
                if op == "add" and len(words) == 3:
                    ladder = add_stage(ladder, words[1].lower(), _offset(words[2]))
                elif op == "remove" and len(words) == 2:
                    ladder = remove_stage(ladder, words[1].lower())
                elif op == "move" and len(words) == 3:
                    ladder = move_stage(ladder, words[1].lower(), _offset(words[2]))
                elif op == "reset" and len(words) == 1:
                    ladder = DEFAULT_LADDER
                else:
                    raise Refused("ladder_usage")
            except LadderError as exc:
                raise Refused(f"ladder_{exc}", given=" ".join(words[1:])) from None
            owner.ladder = None if ladder == DEFAULT_LADDER else json.dumps(ladder_pairs(ladder))
            session.add(owner)
            EventLog(session).append(owner_id=owner.id or 0, kind="setting_ladder", at=now)
            for client in await Clients(session).for_owner(owner.id or 0):
                await reschedule_client(session, client, owner, now)
            return settings_view(owner)

    async def change_client(
        self, owner_user_id: int, display: str, client_id: int, field: str, raw: str
    ) -> ClientView:
        """A client's own language or time zone; `default` goes back to the owner's."""
        if field not in CLIENT_FIELDS:
            raise Refused("setting_unknown", field=field)
        value = None if raw.strip().lower() == "default" else _clean(field, raw)
        now = self.deps.clock.now()
        async with owner_transaction(self.deps, owner_user_id, display) as (session, owner):
            client = await session.get(Client, client_id)
            if client is None or client.owner_id != owner.id:
                raise Refused("unknown_client", name=str(client_id))
            if client.forgotten_at is not None:  # their language and zone were erased
                raise Refused("forgotten_no_settings", name=client.name)
            if field == "language":
                client.locale = value
            else:
                client.timezone = value
                await reschedule_client(session, client, owner, now)
            session.add(client)
            EventLog(session).append(
                owner_id=owner.id or 0, client_id=client.id, kind=f"client_{field}", at=now
            )
            return client_view(client)
