"""Every template exists in every language, uses only what English uses, and renders
as valid Telegram HTML within 4096 characters."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import pytest
from jinja2 import meta

from bot.config import SUPPORTED_LOCALES
from bot.domain.aging import BUCKETS, Aging
from bot.domain.escalation import collection_estimate
from bot.services.reports import LateClient, Report
from messages.reminders import InstalmentInfo, ItemMoney, ReminderItem
from messages.render import MAX_MESSAGE_LENGTH, TEMPLATES, environment, render

NAMES = sorted(
    str(path.relative_to(TEMPLATES / "en"))[: -len(".j2")]
    for path in (TEMPLATES / "en").rglob("*.j2")
)
ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a"}
ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


def variables(locale: str, name: str) -> set[str]:
    env = environment()
    source = (TEMPLATES / locale / f"{name}.j2").read_text(encoding="utf-8")
    return meta.find_undeclared_variables(env.parse(source)) - {"locale", "plural"}


def test_every_template_exists_in_every_language() -> None:
    for locale in SUPPORTED_LOCALES:
        have = sorted(
            str(path.relative_to(TEMPLATES / locale))[: -len(".j2")]
            for path in (TEMPLATES / locale).rglob("*.j2")
        )
        assert have == NAMES, locale


@pytest.mark.parametrize("locale", [loc for loc in SUPPORTED_LOCALES if loc != "en"])
def test_translations_use_only_what_english_uses(locale: str) -> None:
    for name in NAMES:
        assert variables(locale, name) <= variables("en", name), (locale, name)


class TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()


def assert_telegram_html(text: str) -> None:
    parser = TelegramHTML()
    parser.feed(text)
    parser.close()
    assert parser.stack == []
    without_tags = re.sub(r"</?(b|i|u|s|code|pre|a)( [^>]*)?>", "", text)
    assert "<" not in without_tags and ">" not in without_tags
    assert "&" not in ENTITY.sub("", without_tags)


def sample(days: int, status: str) -> dict[str, Any]:
    day = date(2026, 12, 1)
    moment = datetime(2026, 12, 1, 9, tzinfo=UTC)
    money = ItemMoney(
        fee_minor=2500,
        interest_minor=701,
        due_now_minor=103201,
        interest_since=day,
        interest_percent="8.5",
        upcoming_date=day,
        upcoming_fee_minor=2500,
        upcoming_interest_percent="8",
        settlement_minor=93433,
        settlement_percent="10",
        settlement_until=day,
        early_minor=98000,
        early_percent="2",
    )
    item = ReminderItem(
        1, 3, 100000, "EUR", "Site <b>&", day, "weekly_1", days, day, None, None, money
    )
    instalment_item = ReminderItem(
        1, 3, 100000, "EUR", "", day, "i2_due", days, day, InstalmentInfo(2, 3, 33333, day)
    )
    client = SimpleNamespace(
        name="Acme & Co",
        number=1,
        linked=True,
        blocked=False,
        unreachable=False,
        paused=True,
        joined_at=moment,
        locale="pl",
        timezone="Europe/Warsaw",
        id=1,
    )
    invoice = SimpleNamespace(
        number=3,
        client_name="Acme",
        client_number=1,
        client_linked=False,
        amount_minor=100000,
        paid_minor=5000,
        fee_minor=2500,
        interest_minor=701,
        remaining_minor=98201,
        outstanding_minor=98201,
        currency="EUR",
        due_date=day,
        description="Site",
        status=status,
        paused_until=moment,
        next_reminder_at=moment,
    )
    summary = SimpleNamespace(
        client=client, open_invoices=days, balances=[SimpleNamespace(currency="EUR", minor=100)]
    )
    settings = SimpleNamespace(
        business_name="Studio",
        locale="pl",
        timezone="Europe/Warsaw",
        currency="PLN",
        pay_link=None,
        pay_instructions="IBAN",
        reminder_hours="09:00-20:00",
        reminder_days="mon-fri",
        ladder=[("heads_up", -3), ("final", 90)],
        holidays_country="PL",
        ignored_alert_after=3,
        invite_alert_days=days,
        late_fee_kind="percent",
        late_fee_value="5",
        interest_percent="8",
        interest_from="firm",
        settlement_percent="10",
        settlement_days=days,
        early_discount_percent="2",
    )
    part = SimpleNamespace(seq=1, amount_minor=50000, due_date=day)
    return {
        "items": [item],
        "item": item,
        "client": client,
        "client_name": "Acme",
        "business_name": "Studio <Ann>",
        "pay_link": None,
        "pay_instructions": "IBAN PL00",
        "invoice": invoice,
        "summary": summary,
        "card": SimpleNamespace(
            summary=summary,
            promises_kept=1,
            promises_broken=2,
            timezone="UTC",
            locale="pl",
        ),
        "entry": SimpleNamespace(
            at=moment, kind="payment_recorded", detail={"amount_minor": "100", "currency": "EUR"}
        ),
        "record": SimpleNamespace(status="unknown", error="Timed out"),
        "estimate": collection_estimate(100000),
        "parts": [part, part],
        "plan": [SimpleNamespace(stage="due", day=day)],
        "numbers": [1, 2],
        "commands": [("start", "x")],
        "settings": settings,
        "stage_names": {"due": "due", "firm": "firm", "heads_up": "h", "final": "f"},
        "timeline": [{"at": moment, "text": "t"}],
        "warnings": ["w"],
        "local": lambda value: value,
        "days_overdue": days,
        "days": days,
        "count": days,
        "number": 3,
        "amount_minor": 1000,
        "remaining_minor": 900,
        "remaining": 900,
        "paid": 100,
        "claimed_minor": 1000,
        "currency": "EUR",
        "promised_for": day,
        "due_date": day,
        "seq": 2,
        "status": status,
        "status_label": status,
        "stage": "due",
        "error": "Forbidden",
        "reason": "quality",
        "details": "late & <wrong>",
        "code": "unknown_client",
        "name": "Acme",
        "names": ["Acme", "Acme Two"],
        "given": "xyz",
        "field": "interest",
        "low": 1,
        "high": 20,
        "command": "paid",
        "max_length": 100,
        "max_days": 30,
        "example": day,
        "link": "https://t.me/bot?start=abc",
        "expires_at": day,
        "already_existed": True,
        "closed": days == 1,
        "which": "overdue",
        "decision": "adjust",
        "action": "block",
        "choice": "later",
        "day": day,
        "when": moment,
        "until": day,
        "changed": True,
        "repeated": False,
        "code_name": "x",
        "side": "owner",
        "timezone": "Europe/Warsaw",
        "next_stage": "due",
        "pay_link_url": None,
        "instalment_item": instalment_item,
        "bucket": "31_60",
        "buckets": BUCKETS,
        "bucket_names": dict.fromkeys(BUCKETS, "b"),
        "report": Report(
            today=day,
            aging=(Aging("EUR", dict.fromkeys(BUCKETS, 100)),),
            dso=(("EUR", days), ("PLN", None)),
            promises_kept=1,
            promises_broken=days,
            disputes_open=0,
            late_clients=(LateClient("Acme <&>", (("EUR", 100), ("PLN", 5)), days),),
        ),
    }


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize(("days", "status"), [(1, "open"), (3, "written_off"), (22, "paid")])
def test_every_template_renders_as_telegram_html(locale: str, days: int, status: str) -> None:
    data = sample(days, status)
    for name in NAMES:
        if "instalment" in name:
            text = render(name, locale, **{**data, "item": data["instalment_item"]})
        else:
            text = render(name, locale, **data)
        assert text.strip(), (locale, name)
        assert len(text) <= MAX_MESSAGE_LENGTH
        assert_telegram_html(text)


@pytest.mark.parametrize(
    ("locale", "count", "word"),
    [
        ("ru", 1, "1 день"),
        ("ru", 3, "3 дня"),
        ("ru", 5, "5 дней"),
        ("ru", 21, "21 день"),
        ("pl", 1, "1 dzień"),
        ("pl", 2, "2 dni"),
        ("pl", 5, "5 dni"),
        ("pt", 1, "1 dia"),
        ("pt", 2, "2 dias"),
        ("en", 1, "1 day"),
        ("en", 2, "2 days"),
    ],
)
def test_plurals_follow_the_language(locale: str, count: int, word: str) -> None:
    data = sample(count, "open")
    item = data["item"]
    text = render("client/stages/weekly", locale, item=item, client_name="Acme")
    assert word in text
