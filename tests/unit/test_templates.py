"""Every template exists in every language, uses only what English uses, keeps the English
layout, has every plural form its language needs, and renders, in every branch we can reach,
as valid Telegram HTML within 4096 characters."""

from __future__ import annotations

import dataclasses
import html
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import pytest
from babel import Locale
from jinja2 import meta, nodes

from bot.config import SUPPORTED_LOCALES
from bot.domain.aging import BUCKETS, Aging
from bot.domain.bank import BankAccount
from bot.domain.escalation import collection_estimate
from bot.domain.letter import LetterContent
from bot.domain.reminder_data import InstalmentInfo, ItemMoney
from bot.services.reports import LateClient, Report
from messages.reminders import ReminderItem
from messages.render import MAX_MESSAGE_LENGTH, TEMPLATES, environment, fragment, render

TRANSLATIONS = tuple(locale for locale in SUPPORTED_LOCALES if locale != "en")
NAMES = sorted(
    path.relative_to(TEMPLATES / "en").as_posix()[: -len(".j2")]
    for path in (TEMPLATES / "en").rglob("*.j2")
)
# Fragments included into other messages; they may legitimately render nothing.
MAY_BE_EMPTY = {"client/charges", "law/announce", "law/interest_line", "letter/law"}


def source(locale: str, name: str) -> str:
    return (TEMPLATES / locale / f"{name}.j2").read_text(encoding="utf-8")


@cache  # the tree is only read; the variants of each template parse it in every language
def parse(locale: str, name: str) -> nodes.Template:
    return environment().parse(source(locale, name))


def variables(locale: str, name: str) -> set[str]:
    """What the code must pass: loop and `set` names are not counted by Jinja itself."""
    return set(meta.find_undeclared_variables(parse(locale, name))) - {"locale", "plural"}


# (a) the same files in every language ------------------------------------------------------


def files(locale: str) -> list[str]:
    root = TEMPLATES / locale
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def test_there_is_a_template_folder_per_language() -> None:
    folders = sorted(path.name for path in TEMPLATES.iterdir() if path.is_dir())
    assert folders == sorted(SUPPORTED_LOCALES)


@pytest.mark.parametrize("locale", TRANSLATIONS)
def test_every_template_exists_in_every_language(locale: str) -> None:
    english, translated = set(files("en")), set(files(locale))
    assert sorted(english - translated) == [], f"missing in {locale}"
    assert sorted(translated - english) == [], f"extra in {locale}"


# (b) translations use only what the code passes ---------------------------------------------


@pytest.mark.parametrize("locale", TRANSLATIONS)
@pytest.mark.parametrize("name", NAMES)
def test_translations_use_only_what_english_uses(locale: str, name: str) -> None:
    assert variables(locale, name) <= variables("en", name)


# Layout and plural forms -------------------------------------------------------------------

STRUCTURAL = re.compile(r"\{%-?\s*(include|for|set)\b.*?%\}", re.DOTALL)
# A block tag that ends a line (trim_blocks eats that newline) or carries a whitespace marker.
BLOCK = re.compile(r"\{%([-+]?)\s*(\w+).*?([-+]?)%\}(\n?)", re.DOTALL)


def layout(text: str) -> list[tuple[str, ...]]:
    return [match.groups() for match in BLOCK.finditer(text) if any(match.group(1, 3, 4))]


@pytest.mark.parametrize("locale", TRANSLATIONS)
@pytest.mark.parametrize("name", NAMES)
def test_translations_keep_the_english_layout(locale: str, name: str) -> None:
    english, translated = source("en", name), source(locale, name)
    assert translated.count("\n") == english.count("\n"), "number of lines"
    assert [m.group(0) for m in STRUCTURAL.finditer(translated)] == [
        m.group(0) for m in STRUCTURAL.finditer(english)
    ], "includes, loops and set statements"
    assert layout(translated) == layout(english), "block tags that end lines or trim space"


def categories(locale: str) -> set[str]:
    """The CLDR plural categories Babel can pick for whole numbers in `locale`."""
    rules = Locale.parse(locale)
    return {rules.plural_form(n) for n in (*range(200), 1_000_000)} | {"other"}


def plural_calls(tree: nodes.Template) -> Iterator[nodes.Call]:
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "plural":
            yield call


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_plural_gives_the_forms_its_language_needs(locale: str) -> None:
    needed = categories(locale)
    for name in NAMES:
        for call in plural_calls(parse(locale, name)):
            given = {keyword.key for keyword in call.kwargs}
            assert needed <= given, (name, sorted(needed - given))


# Telegram HTML -----------------------------------------------------------------------------

ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a"}
ENTITIES = {"lt", "gt", "amp", "quot"}
TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^<>]*)?>")
ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class TelegramHTML(HTMLParser):
    """Telegram's HTML parse mode: a few tags, closed and nested, and four named entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, f"<{tag}> is not allowed"
        assert not {"code", "pre"} & set(self.stack), f"<{tag}> inside {self.stack[-1]}"
        allowed_attributes = {"href"} if tag == "a" else set()
        assert {name for name, _ in attrs} <= allowed_attributes, f"attributes on <{tag}>"
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> was never opened"
        assert self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1]}>"
        self.stack.pop()

    def handle_entityref(self, name: str) -> None:
        assert name in ENTITIES, f"&{name}; is not an entity Telegram knows"

    def handle_comment(self, data: str) -> None:
        raise AssertionError("HTML comment")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError("declaration")

    def handle_pi(self, data: str) -> None:
        raise AssertionError("processing instruction")


def assert_telegram_html(text: str) -> None:
    parser = TelegramHTML()
    parser.feed(text)
    parser.close()
    assert parser.stack == [], f"unclosed {parser.stack}"
    plain = TAG.sub("", text)
    assert "<" not in plain, "stray <"
    assert "&" not in ENTITY.sub("", plain), "stray &"


@pytest.mark.parametrize(
    "text",
    [
        "<b>open",
        "<b><i>crossed</b></i>",
        "</b>",
        "<div>block</div>",
        "<br/>",
        '<b class="x">attribute</b>',
        "<code><b>inside code</b></code>",
        "1 < 2",
        "Tom & Jerry",
        "&nbsp;",
        "<!-- comment -->",
    ],
)
def test_the_html_check_catches_what_telegram_rejects(text: str) -> None:
    with pytest.raises(AssertionError):
        assert_telegram_html(text)


def test_the_html_check_accepts_what_telegram_accepts() -> None:
    assert_telegram_html('<b>#3</b> <a href="https://t.me/x?a=1&amp;b=2">link</a> &lt;&amp;&gt;')


# (c) every template, every language, every branch we can reach ----------------------------

DAY = date(2026, 12, 1)
MOMENT = datetime(2026, 12, 1, 9, tzinfo=UTC)
STAGES = ("heads_up", "due", "overdue_1", "weekly_1", "weekly_3", "firm", "formal", "final")


def money(*, charges: bool = True) -> ItemMoney:
    if not charges:
        return ItemMoney()
    return ItemMoney(
        fee_minor=2500,
        interest_minor=701,
        due_now_minor=103201,
        interest_since=DAY,
        interest_percent="8.5",
        upcoming_fee_minor=2500,
        upcoming_fee_date=DAY,
        upcoming_interest_percent="8",
        upcoming_interest_date=DAY,
        settlement_minor=93433,
        settlement_percent="10",
        settlement_until=DAY,
        early_minor=98000,
        early_percent="2",
        law="PL",
        compensation_minor=17092,
        upcoming_compensation_minor=17092,
        upcoming_interest_statutory=True,
        rate_as_of=DAY,
        rate_beyond_table=True,
    )


def reminder_item(days: int, stage: str = "weekly_1", *, instalment: bool = False) -> ReminderItem:
    return ReminderItem(
        invoice_id=1,
        number=3,
        amount_minor=100000,
        currency="EUR",
        description="Site <b>redesign</b> & hosting",
        due_date=DAY,
        stage=f"i2_{stage}" if instalment else stage,
        days_overdue=days,
        deadline=DAY,
        instalment=InstalmentInfo(2, 3, 33333, DAY) if instalment else None,
        money=money(),
    )


def sample(days: int, status: str, *, instalment: bool = False) -> dict[str, Any]:
    """One context with everything any template reads; HTML-special characters in the
    user-given text check that it is escaped."""
    item = reminder_item(days, "due" if instalment else "weekly_1", instalment=instalment)
    client = SimpleNamespace(
        id=1,
        name="Acme & Co <Ltd>",
        number=1,
        linked=True,
        blocked=False,
        unreachable=False,
        paused=True,
        joined_at=MOMENT,
        locale="pl",
        timezone="Europe/Warsaw",
        forgotten_at=MOMENT,
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
        compensation_minor=17092,
        remaining_minor=98201,
        outstanding_minor=98201,
        currency="EUR",
        due_date=DAY,
        description="Site",
        status=status,
        paused_until=MOMENT,
        next_reminder_at=MOMENT,
    )
    summary = SimpleNamespace(
        client=client,
        open_invoices=days,
        balances=[
            SimpleNamespace(currency="EUR", minor=100000),
            SimpleNamespace(currency="PLN", minor=50050),
        ],
    )
    settings = SimpleNamespace(
        business_name="Studio <Ann> & Co",
        locale="pl",
        timezone="Europe/Warsaw",
        currency="PLN",
        pay_link=None,
        pay_instructions="IBAN PL00 & co",
        reminder_hours="09:00-20:00",
        reminder_days="mon-fri",
        ladder=[("heads_up", -3), ("due", 0), ("final", 90)],
        holidays_country="PL",
        ignored_alert_after=days,
        invite_alert_days=days,
        late_fee_kind="percent",
        late_fee_value="5",
        interest_percent="8.5",
        interest_from="firm",
        settlement_percent="10",
        settlement_days=days,
        early_discount_percent="2",
        bank_account="DE89370400440532013000 · Studio <Ann>",
        country="PL",
        interest_statutory=True,
        compensation=True,
        statutory_percent="15.25",
        next_step="lawyer",
        notify=days % 2 == 1,
        digest_time="09:00",
    )
    part = SimpleNamespace(seq=1, amount_minor=50000, due_date=DAY)
    transfer_line = SimpleNamespace(
        number=3, reference="DUE-3", amount_minor=100000, currency="EUR"
    )
    statement_line = SimpleNamespace(
        position=days + 1,
        booked_on=DAY,
        amount_minor=100000,
        currency="EUR",
        payer="Acme <&> GmbH",
        text="Invoice <3> & more",
        reason="no_match",
    )
    recorded = SimpleNamespace(
        number=3, client_name="Acme <&>", amount_minor=100000, currency="EUR", closed=True
    )
    offer = SimpleNamespace(line_id=1, number=3, client_name="Acme <&>", line=statement_line)
    stage_names = {
        name: f"{name} <label>" for name in ("heads_up", "due", "overdue_1", "weekly_1", "firm")
    } | {"formal": "formal", "final": "final", "weekly_3": "weekly"}
    return {
        "items": [item],
        "item": item,
        "client": client,
        "client_name": "Acme & Co",
        "business_name": "Studio <Ann>",
        "pay_instructions": "IBAN PL00 <1234> & co",
        "invoice": invoice,
        "summary": summary,
        "card": SimpleNamespace(
            summary=summary,
            promises_kept=1,
            promises_broken=days,
            timezone="UTC",
            locale="pl",
            history=SimpleNamespace(
                paid=days + 1,
                paid_on_time=1,
                paid_late=days,
                average_days_late=days,
                open_disputes=1,
            ),
            contacts=[
                SimpleNamespace(id=1, name="Bea <&>", is_group=False, unreachable=days == 2),
                SimpleNamespace(id=2, name="", is_group=True, unreachable=False),
            ],
        ),
        # Payment record, /forget and /mydata.
        "upfront": SimpleNamespace(reason="slow", count=days + 1, days=41, number=3),
        "preview": SimpleNamespace(
            client=client,
            invoices=days + 1,
            open_invoices=days,
            balances=summary.balances,
        ),
        "section": "invoices",
        "my_record": SimpleNamespace(
            business_name="Studio <Ann> & Co",
            name="Acme & Co <Ltd>",
            chat_id=222,
            telegram_user_id=222,
            locale="pl",
            timezone="Europe/Warsaw",
            joined_at=MOMENT,
            reminders_sent=days,
        ),
        "my_invoice": SimpleNamespace(
            number=3,
            amount_minor=100000,
            paid_minor=5000,
            due_now_minor=97500,
            currency="EUR",
            status=status,
            due_date=DAY,
            description="Site <b>redesign</b> & hosting",
        ),
        # /repeat: a series as the owner sees it.
        "repeat": SimpleNamespace(
            first_number=3,
            last_number=5,
            client_name="Acme <&>",
            period="monthly",
            amount_minor=100000,
            currency="EUR",
            description="Site <b>redesign</b> & hosting",
            next_due=DAY,
            next_issue=DAY,
            last_issued=DAY,
            issue_now=days == 1,
            stopped=False,
        ),
        "period": "quarterly",
        "latest": 5,
        "my_promise": SimpleNamespace(invoice_number=3, promised_for=DAY, status="broken"),
        "my_plan": SimpleNamespace(
            invoice_number=3, kind="monthly", status="accepted", instalments=days
        ),
        "my_dispute": SimpleNamespace(
            invoice_number=3,
            reason="quality",
            details="late & <wrong>",
            status="open",
            created_at=MOMENT,
        ),
        "entry": SimpleNamespace(
            at=MOMENT,
            kind="payment_recorded",
            detail={
                "amount_minor": "10000",
                "currency": "EUR",
                "error": "Bad Request: chat not found",
                "percent": "8.5",
                "answer": "paid",
                "since": "2026-12-24",  # events keep days as ISO text
                "way": "chat",
                "reference": "ch_3N<&>",
                # /edit: old → new, each kind under its own keys
                "stage": "edit_1",
                "field": "amount",
                "old_minor": "120000",
                "new_minor": "110000",
                "old_due": "2026-12-04",
                "new_due": "2026-12-20",
                "old": "Site <old>",
                "new": "https://pay.example/3?a=1&b=2",
            },
        ),
        "record": SimpleNamespace(status="unknown", error="Timed out <30s>"),
        # i17: the new-invoice notice and the owner's own document.
        "terms": SimpleNamespace(
            any=True,
            fee_minor=2500,
            fee_from=DAY,
            interest_percent="8.5",
            interest_from=DAY,
            interest_statutory=days % 2 == 0,
            compensation_minor=4000,
            compensation_from=DAY,
            law="PL",
        ),
        "document": True,
        "document_name": "invoice <3> & co.pdf",
        "notice": "sent",
        "replaced": True,
        "sent_to_client": True,
        "estimate": collection_estimate(100000),
        "parts": [part, part],
        "plan": [SimpleNamespace(stage="due", day=DAY), SimpleNamespace(stage="final", day=DAY)],
        "numbers": [1, 2],
        "commands": [("start", "what <it> does"), ("help", "help & commands")],
        "settings": settings,
        "stage_names": stage_names,
        "timeline": [SimpleNamespace(at=MOMENT, text="payment <recorded>")],
        "warnings": ["client blocked the bot & more"],
        "local": lambda value: value,
        "days_overdue": days,
        # Escalation alerts: what went out with it and what comes next.
        "together": ["#4", "#5"],
        "deadline": DAY,
        "next_date": DAY,
        "next_step": "lawyer",
        "days": days,
        "count": days,
        "number": 3,
        "amount_minor": 100000,
        "remaining_minor": 90000,
        "remaining": 90000,
        "paid": 10000,
        "claimed_minor": 100000,
        "currency": "EUR",
        "promised_for": DAY,
        "due_date": DAY,
        "seq": 2,
        "status": status,
        "status_label": "open",
        "stage": "weekly_1",
        "error": "Forbidden: bot was blocked by the user",
        "reason": "quality",
        "details": "late & <wrong>",
        "code": "unknown_client",
        "name": "Acme <&>",
        "names": ["Acme", "Acme Two"],
        "given": "xyz<",
        "field": "interest",
        "country": "PL",
        "low": 1,
        "high": 20,
        "command": "paid",
        "max_length": 100,
        "max_days": 30,
        "example": DAY,
        "link": "https://t.me/duebot?start=abc_DEF-123",
        "expires_at": DAY,
        "already_existed": True,
        "closed": days == 1,
        # Card payments (SPEC §10)
        "excess_minor": 2500 if days == 2 else 0,
        "description": "Site & <redesign>",
        "way": "chat" if days == 1 else "stripe",
        "reference": "pi_3Nq<&>",
        "page": {1: "closed", 2: "done", 5: "cancelled"}.get(days, "unknown"),
        "ways": ("chat", "stripe") if days == 1 else (),
        "which": "overdue",
        # Several contacts per client, group chats (issue 17).
        "contact": SimpleNamespace(
            id=1, name="Bea <&>" if days != 5 else "", is_group=days == 1, unreachable=True
        ),
        "contact_name": "Team <&>" if days != 5 else "",
        "group": days in (1, 22),
        "nobody_left": days == 2,
        "last": days == 2,
        "group_link": "https://t.me/duebot?startgroup=abc_DEF-123",
        # A question asked in a group, of the member who pressed (a text mention).
        "user_id": 444,
        "question": fragment("client/problem_ask_details", "en", number=3),
        "decision": "adjust",
        "action": "block",
        "choice": "later",
        "day": DAY,
        "when": MOMENT,
        # /edit: what changed, old → new.
        "edit": SimpleNamespace(
            field="amount",
            old_amount_minor=120000,
            new_amount_minor=110000,
            old_due=DAY,
            new_due=DAY,
            old_text="Site <old>",
            new_text="Site & <new>",
            noted=True,
            withdrawn=("fee",),
            next_reminder_at=MOMENT,
        ),
        "until": DAY,
        "changed": True,
        "side": "owner",
        "part": "invoice",
        "timezone": "Europe/Warsaw",
        "next_stage": "due",
        "next_stage_label": "formal notice",
        "bucket": "31_60",
        "buckets": BUCKETS,
        "bucket_names": {bucket: f"{bucket} <b>" for bucket in BUCKETS},
        # /export and /import.
        "client_count": days,
        "invoice_count": days + 1,
        "payment_count": days,
        "event_count": 40,
        "client_columns": ["number", "name", "language"],
        "invoice_columns": ["number", "client", "amount"],
        "max_rows": 50000,
        "max_megabytes": 20,
        "problem": SimpleNamespace(
            line=days + 1,
            code="unknown_client",
            column="client",
            given="Acme <&>",
            other_line=2,
            limit=20,
        ),
        "problems": ["Line 2: I don't know a client called “Acme <&>”"],
        # Bank transfers: the reminder's transfer details, /settings iban, statements.
        "account": BankAccount("DE89370400440532013000", "COBADEFFXXX", "Studio <Ann> & Co"),
        "lines": [transfer_line, transfer_line],
        "qr": True,
        "qr_numbers": [3, 4],
        "qr_total": 200000,
        "qr_reference": "DUE-3 DUE-4",
        "statement": SimpleNamespace(
            kind="camt053",
            recorded=[recorded, recorded],
            offers=[offer],
            unmatched=[statement_line],
            seen=days,
            debits=1,
            other_currency=days,
            zero=1,
            ignored=days + 2,
        ),
        "unmatched": [statement_line, statement_line],
        "offer": offer,
        "payments": [
            SimpleNamespace(paid_at=MOMENT, amount_minor=5000, way="bank", reference="R <1>"),
            SimpleNamespace(paid_at=MOMENT, amount_minor=5000, way="claim", reference=""),
        ],
        "thanked": True,
        "position": days,
        "first": 2,
        "second": days + 2,
        "limit": 20,
        "more": days,
        "kind": "invoices",
        "clients_added": days,
        "clients_existing": 1,
        "statuses": [("open <b>", days), ("paid", 1)],
        "reminded": days,
        "waiting": 1,
        "unlinked": days,
        "letter": LetterContent(
            locale="pl",
            business_name="Studio <Ann> & Co",
            client_name="Acme & Co <Ltd>",
            number=3,
            description="Site <b>redesign</b> & hosting",
            currency="EUR",
            issued_on=DAY,
            due_date=DAY,
            days_overdue=days,
            amount_minor=100000,
            paid_minor=5000,
            fee_minor=2500,
            interest_minor=701,
            due_now_minor=98201,
            interest_since=DAY,
            interest_percent="8.5",
            deadline=DAY,
            pay_link="https://pay.example/me?a=1&b=2",
            pay_instructions="IBAN PL00 <1234> & co",
            law="RU",
            statutory=True,
            rate_as_of=DAY,
            rate_beyond_table=True,
            compensation_minor=17092,
        ),
        # The owner's daily digest (issue 17).
        "digest": SimpleNamespace(time="09:00", timezone="Europe/Warsaw", next_at=MOMENT),
        "digest_line": SimpleNamespace(
            number=3,
            client_name="Acme <&>",
            amount_minor=100000,
            currency="EUR",
            stage="weekly_1",
            kind=status,
            reason="quality",
            parts=days,
            actions=("confirm", "notrecv"),
        ),
        "digest_totals": [
            SimpleNamespace(currency="EUR", minor=100000),
            SimpleNamespace(currency="PLN", minor=50050),
        ],
        "report": Report(
            today=DAY,
            aging=(
                Aging("EUR", dict.fromkeys(BUCKETS, 100)),
                Aging("PLN", dict.fromkeys(BUCKETS, 0) | {"1_30": 5}),
            ),
            dso=(("EUR", days), ("PLN", None)),
            promises_kept=1,
            promises_broken=days,
            disputes_open=0,
            late_clients=(LateClient("Acme <&>", (("EUR", 100), ("PLN", 5)), days),),
            payments_by_way=(("chat", 2), ("hand", days), ("stripe", 1)),
        ),
    }


def context(name: str, days: int, status: str) -> dict[str, Any]:
    return sample(days, status, instalment="instalment" in name)


def check(name: str, locale: str, data: Mapping[str, Any]) -> str:
    text = render(name, locale, **data)
    if name not in MAY_BE_EMPTY:
        assert text.strip(), "empty message"
    assert len(text) <= MAX_MESSAGE_LENGTH
    assert "None" not in text, "a missing value printed as None"
    assert_telegram_html(text)
    return text


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize(
    ("days", "status"), [(1, "open"), (2, "paid"), (5, "written_off"), (22, "plan_proposed")]
)
def test_every_template_renders_as_telegram_html(locale: str, days: int, status: str) -> None:
    for name in NAMES:
        try:
            check(name, locale, context(name, days, status))
        except Exception as exc:
            raise AssertionError(f"{locale}/{name}: {exc!r}") from exc


# Branches: every `if`/`elif` condition on what the code passes, found in the templates
# themselves, is made true (and the earlier ones false) in turn.

Path = tuple[str, ...]
Variant = dict[Path, Any]
MISSING = object()
TRUTHY: dict[str, Any] = {
    "pay_link": "https://pay.example/me",
    "pay_instructions": "IBAN PL00 1234",
    "paused_until": MOMENT,
    "next_reminder_at": MOMENT,
    "joined_at": MOMENT,
    "error": "Timed out",
}


def lookup(data: Any, path: Path) -> Any:
    value = data
    for key in path:
        if isinstance(value, Mapping):
            value = value.get(key, MISSING)
        else:
            value = getattr(value, key, MISSING)
        if value is MISSING:
            return MISSING
    return value


def replaced(value: Any, path: Path, new: Any) -> Any:
    """`value` with the thing at `path` replaced, copying (not mutating) what it goes through."""
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(value, Mapping):
        return {**value, key: replaced(value[key], rest, new)}
    if isinstance(value, SimpleNamespace):
        return SimpleNamespace(**{**vars(value), key: replaced(getattr(value, key), rest, new)})
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{key: replaced(getattr(value, key), rest, new)})
    raise TypeError(f"cannot replace {key} in {type(value).__name__}")


def falsy(value: Any) -> Any:
    if isinstance(value, bool):
        return False
    if isinstance(value, str | list | tuple | dict | int | Decimal):
        return type(value)()
    return None


def truthy(path: Path, value: Any) -> Any:
    if value:
        return value
    if value is False:
        return True
    if value == 0 and isinstance(value, int):
        return 1
    if value == "":
        return "x"
    return TRUTHY.get(path[-1], MISSING)


def merged(*variants: Variant) -> Variant | None:
    result: Variant = {}
    for variant in variants:
        for path, value in variant.items():
            if path in result and result[path] is not value and result[path] != value:
                return None
            result[path] = value
    return result


def products(left: list[Variant], right: list[Variant]) -> list[Variant]:
    both = (merged(a, b) for a, b in itertools.product(left, right))
    return [variant for variant in both if variant is not None]


NUMERIC = {
    ("gt", True): 1,
    ("gt", False): 0,
    ("gteq", True): 0,
    ("gteq", False): -1,
    ("lt", True): -1,
    ("lt", False): 0,
    ("lteq", True): 0,
    ("lteq", False): 1,
    ("eq", True): 0,
    ("eq", False): 1,
    ("ne", True): 1,
    ("ne", False): 0,
}


class Branches:
    """Best-effort assignments that make each condition in a template true or false."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.aliases: dict[str, Path | None] = {}

    def path(self, expr: nodes.Node) -> Path | None:
        if isinstance(expr, nodes.Name):
            return self.aliases.get(expr.name, (expr.name,))
        if isinstance(expr, nodes.Getattr):
            base = self.path(expr.node)
            return None if base is None else (*base, expr.attr)
        return None

    def make(self, test: nodes.Node, want: bool) -> list[Variant]:
        if isinstance(test, nodes.Not):
            return self.make(test.node, not want)
        if isinstance(test, nodes.And | nodes.Or):
            left, right = self.make(test.left, want), self.make(test.right, want)
            if isinstance(test, nodes.And) == want:
                return products(left, right)
            return left + right
        if isinstance(test, nodes.Compare) and len(test.ops) == 1:
            return self.compare(test, want)
        if isinstance(test, nodes.Test) and test.name == "none":
            path = self.path(test.node)
            return [{path: None}] if path and want else []
        path = self.path(test)
        if path is None:
            return []
        current = lookup(self.data, path)
        if current is MISSING:
            return []
        value = truthy(path, current) if want else falsy(current)
        return [] if value is MISSING else [{path: value}]

    def compare(self, test: nodes.Compare, want: bool) -> list[Variant]:
        path, operand = self.path(test.expr), test.ops[0]
        if path is None or lookup(self.data, path) is MISSING:
            return []
        op, other = operand.op, operand.expr
        if isinstance(other, nodes.Const) and isinstance(other.value, str):
            if (op == "eq") == want and op in ("eq", "ne"):
                return [{path: other.value}]
            return [{path: "something_else"}] if op in ("eq", "ne") else []
        if isinstance(other, nodes.Const) and isinstance(other.value, int):
            shift = NUMERIC.get((op, want))
            return [] if shift is None else [{path: other.value + shift}]
        if isinstance(other, nodes.Tuple | nodes.List) and op in ("in", "notin"):
            values = [item.value for item in other.items if isinstance(item, nodes.Const)]
            if (op == "in") == want:
                return [{path: value} for value in values]
            return [{path: "something_else"}]
        return []

    def walk(self, body: Sequence[nodes.Node], given: Variant) -> Iterator[Variant]:
        for node in body:
            if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
                self.aliases[node.target.name] = self.path(node.node)
            if isinstance(node, nodes.For):
                targets = [node.target, *node.target.find_all(nodes.Name)]
                for target in targets:
                    if isinstance(target, nodes.Name):
                        self.aliases[target.name] = None
            if isinstance(node, nodes.If | nodes.CondExpr):
                yield from self.branches(node, given)
            else:
                yield from self.walk(list(node.iter_child_nodes()), given)

    def branches(self, node: nodes.If | nodes.CondExpr, given: Variant) -> Iterator[Variant]:
        if isinstance(node, nodes.CondExpr):
            chain: list[tuple[nodes.Node, Sequence[nodes.Node]]] = [(node.test, [node.expr1])]
            rest: Sequence[nodes.Node] = [node.expr2] if node.expr2 is not None else []
        else:
            chain = [(branch.test, branch.body) for branch in (node, *node.elif_)]
            rest = node.else_
        earlier: Variant = {}  # makes the conditions before this branch false
        for test, body in chain:
            for choice in self.make(test, True):
                variant = merged(given, {**earlier, **choice})
                if variant is not None:
                    yield variant
                    yield from self.walk(body, variant)
            refuted = self.make(test, False)
            if refuted:
                earlier = {**earlier, **refuted[0]}
        # An `if` with no `else` may be left out; a list of cases with no `else` names them all.
        otherwise = merged(given, earlier) if rest or len(chain) == 1 else None
        if otherwise is not None:
            yield otherwise
            yield from self.walk(rest, otherwise)


def variants(name: str, data: Mapping[str, Any]) -> list[Variant]:
    found: dict[str, Variant] = {"{}": {}}
    for locale in SUPPORTED_LOCALES:  # a translation may tell apart more cases than English
        for variant in Branches(data).walk(parse(locale, name).body, {}):
            found.setdefault(repr(sorted(variant.items(), key=repr)), variant)
    return list(found.values())


def extra_variants(name: str, days: int, data: Mapping[str, Any]) -> list[Variant]:
    """Cases the conditions alone do not reach: other reminder stages and combined reminders,
    reminders without charges, stage names of repeated and instalment stages, an empty report."""
    used = variables("en", name)
    extra: list[Variant] = []
    if "items" in used:
        extra += [{("items",): [reminder_item(days, stage)]} for stage in STAGES]
        extra.append({("items",): [reminder_item(days, "due", instalment=True)]})
        extra.append(
            {("items",): [reminder_item(d, stage) for d, stage in ((days, "firm"), (0, "due"))]}
        )
        extra.append({("items",): [reminder_item(-3, "heads_up"), reminder_item(days, "final")]})
    if "item" in used:
        plain = dataclasses.replace(data["item"], description="", money=money(charges=False))
        extra.append({("item",): plain})
    if "stage" in used:
        extra += [{("stage",): stage} for stage in (*STAGES, "overdue_2", "i2_heads_up", "i2_due")]
    if "report" in used:
        empty = Report(DAY, (), (), 0, 0, 0, ())
        extra.append({("report",): empty})
    return extra


def apply(data: dict[str, Any], variant: Variant) -> dict[str, Any]:
    result: Any = data
    for path, value in variant.items():
        result = replaced(result, path, value)
    return dict(result)


@pytest.mark.parametrize("name", NAMES)
def test_every_branch_renders_as_telegram_html(name: str) -> None:
    for days, status in ((1, "open"), (22, "paid")):
        data = context(name, days, status)
        for variant in variants(name, data) + extra_variants(name, days, data):
            case = apply(data, variant)
            lines = render(name, "en", **case).count("\n")
            for locale in SUPPORTED_LOCALES:
                try:
                    text = check(name, locale, case)
                    assert text.count("\n") == lines, "not laid out in as many lines as English"
                except Exception as exc:
                    raise AssertionError(f"{locale}/{name} with {variant}: {exc!r}") from exc


def test_branches_are_found() -> None:
    """The branch finder reaches nested conditions and those behind a `set` alias."""
    found = variants("owner/refused", sample(1, "open"))
    assert {("code",): "setting_bad", ("field",): "hours"} in found
    kinds = {v.get(("entry", "kind")) for v in variants("owner/timeline_entry", sample(1, "open"))}
    assert {"invoice_created", "client_answered"} <= kinds


# (d) plural forms follow the language ------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "count", "words"),
    [
        ("ru", 1, "1 день"),
        ("ru", 3, "3 дня"),
        ("ru", 5, "5 дней"),
        ("ru", 11, "11 дней"),
        ("ru", 21, "21 день"),
        ("ru", 22, "22 дня"),
        ("pl", 1, "1 dzień"),
        ("pl", 2, "2 dni"),
        ("pl", 5, "5 dni"),
        ("pl", 22, "22 dni"),
        ("pt", 1, "1 dia"),
        ("pt", 2, "2 dias"),
        ("en", 1, "1 day"),
        ("en", 22, "22 days"),
    ],
)
def test_plurals_follow_the_language(locale: str, count: int, words: str) -> None:
    reminder = render("client/stages/weekly", locale, item=reminder_item(count), client_name="Acme")
    assert words in reminder
    alert = render("owner/alerts/firm", locale, **sample(count, "open"))
    assert words in alert


@pytest.mark.parametrize(
    ("locale", "count", "words"),
    [
        ("ru", 1, "1 открытый счёт"),
        ("ru", 2, "2 открытых счёта"),
        ("ru", 5, "5 открытых счетов"),
        ("pl", 1, "1 otwarta faktura"),
        ("pl", 2, "2 otwarte faktury"),
        ("pl", 5, "5 otwartych faktur"),
        ("pt", 1, "1 fatura em aberto"),
        ("pt", 5, "5 faturas em aberto"),
    ],
)
def test_plurals_of_other_words(locale: str, count: int, words: str) -> None:
    assert words in render("owner/client_line", locale, **sample(count, "open"))


# (e) nothing left in English, no raw key ---------------------------------------------------
# Every template is rendered in every translation with the sample data (its user-given text
# removed, and labels the handlers translate passed translated) and scanned word by word: a
# word the English templates use, or a key with an underscore, is a leftover unless listed here.

# The same in every language: names, codes, units.
UNTRANSLATED = {
    *("duebot", "bot", "Telegram", "CSV", "csv", "PDF", "IBAN", "UTF", "DSO", "MB", "IANA"),
    *("ISO", "EUR", "USD", "PLN", "BRL", "RUB", "JPY", "Windows", "Latin", "English", "Polski"),
    *("en", "pt", "ru", "pl", "xls", "xlsx"),
    # Bank transfers: the names of standards and codes, the same in every language.
    *("BIC", "SEPA", "QR", "CAMT", "XML", "DTD"),
    # Card payments: the provider's name and the settings an operator sets, as written.
    *("Stripe", "STRIPE_API_KEY", "TELEGRAM_PAYMENT_TOKEN", "PUBLIC_URL", "HTTP_PORT"),
}
# Arguments of commands, typed as they are: `/invoices overdue`, `/settings ladder`.
COMMAND_ARGS = {
    *("overdue", "all", "ladder", "none", "default", "name", "language", "timezone", "currency"),
    *("paylink", "instructions", "hours", "days", "holidays", "ignored", "invitedays"),
    *("latefee", "interest", "settlement", "earlydiscount"),
    *("nextstep", "country", "compensation", "statutory", "iban", "on", "off"),
}
# What the owner types into /import files: column names and their values.
CSV_SYNTAX = {
    *("open", "paused", "paid", "written_off", "void", "yes", "no", "status"),
    *("name", "client", "amount", "due_date"),
}
# Words of the language that happen to be spelled like an English word.
HOMOGRAPHS = {
    "pt": set(
        [
            "a",
            "as",
            "do",
            "e",
            "no",
            "me",
            "for",
            "data",
            "total",
            "local",
            "sim",
            "use",
            "pause",
            "link",
            "links",
            "web",  # "link web": the usual Brazilian term
            "chat",
            "status",
            "online",
            "formal",
            "final",
            "zero",
            "ref",
            "civil",
        ]
    ),
    "pl": set(
        [
            "a",
            "i",
            "do",
            "to",
            "go",
            "my",
            "data",
            "link",
            "problem",
            "status",
            "alert",
            "online",
            "e",
            "plan",
            "firm",
            "same",
            "bank",
            "import",
        ]
    ),
    "ru": set(),
}
WORD = re.compile(r"[^\W\d]\w*")
KEY = re.compile(r"[a-z][a-z0-9_]*")
CODE = re.compile(r"<code>.*?</code>", re.DOTALL)
LINK = re.compile(r"https?://\S+|/\w+|\w+\.csv")


def given_text(value: Any, found: set[str]) -> set[str]:
    """Every string in the sample data: what people typed, shown as it is in any language.
    Keys (`weekly_2`, `paid`) are not: a template that prints one has not translated it.
    The sample shares objects (one client under many invoices): each is read once, and
    without recursion, or the walk repeats itself about a million times per test."""
    pending, seen = [value], set[int]()
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not KEY.fullmatch(item):
                found.add(item)
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, SimpleNamespace):
            pending.extend(vars(item).values())
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            pending.extend(getattr(item, field.name) for field in dataclasses.fields(item))
    return found


def leftovers(locale: str, text: str, given: set[str], english: set[str]) -> set[str]:
    """The raw keys and English words in a rendering (commands and examples in <code> aside)."""
    text = leftovers_text(text, given)
    allowed = UNTRANSLATED | COMMAND_ARGS | CSV_SYNTAX | HOMOGRAPHS[locale]
    found = set()
    for word in WORD.findall(text):
        latin = word.isascii()
        suspicious = "_" in word or word.lower() in english or (locale == "ru" and latin)
        if suspicious and word not in allowed and word.lower() not in allowed:
            found.add(word)
    return found


def translated_sample(name: str, locale: str) -> dict[str, Any]:
    """The sample with the labels handlers translate (stage and status names) translated, and
    the keys templates must translate themselves given as keys (`weekly_2`)."""
    data = context(name, 1, "open")
    stages = (
        "heads_up",
        "due",
        "overdue_1",
        "weekly_1",
        "weekly_2",
        "weekly_3",
        "firm",
        "formal",
        "final",
    )
    names = {stage: render("owner/stage_name", locale, stage=stage) for stage in stages}
    status = render("owner/status_name", locale, status="open")
    settings = SimpleNamespace(**{**vars(data["settings"]), "interest_from": "weekly_2"})
    return data | {
        "stage_names": names,
        "stage": names["weekly_2"],
        "next_stage_label": names["formal"],
        "status": status,
        "status_label": status,
        "statuses": [(status, 1)],
        "settings": settings,
    }


@cache
def legal_citations() -> frozenset[str]:
    """What the law templates quote in parentheses: a term in its own language, a statute's
    name (`odsetki ustawowe …`, `Late Payment Act 1998, s. 5A`). A citation stays as written in
    every language, so it is neither an English word nor a word to translate."""
    found: set[str] = set()
    for locale in SUPPORTED_LOCALES:
        for name in ("law/interest_term", "law/compensation_term"):
            for country in ("PL", "PT", "BR", "RU", "GB", "DE", "FR"):
                text = render(name, locale, country=country)
                depth, start = 0, 0
                for at, char in enumerate(text):
                    if char == "(":
                        depth, start = depth + 1, at if depth == 0 else start
                    elif char == ")" and depth:
                        depth -= 1
                        if depth == 0:
                            found.add(text[start : at + 1])
    return frozenset(found)


@cache  # the same for every translation's test
def english_words() -> frozenset[str]:
    words: set[str] = set()
    for name in NAMES:
        data = translated_sample(name, "en")
        text = leftovers_text(render(name, "en", **data), given_text(data, set()))
        words |= {word.lower() for word in WORD.findall(text) if word.isascii()}
    return frozenset(words)


def leftovers_text(text: str, given: set[str]) -> str:
    text = html.unescape(CODE.sub(" ", text))
    for citation in sorted(legal_citations(), key=len, reverse=True):
        text = text.replace(citation, " ")
    for value in sorted(given, key=len, reverse=True):
        if len(value) > 1:
            text = re.sub(rf"(?<!\w){re.escape(html.unescape(value))}(?!\w)", " ", text)
    return LINK.sub(" ", TAG.sub(" ", text))


@pytest.mark.parametrize("locale", TRANSLATIONS)
def test_no_raw_key_or_english_word_is_left_in_a_translation(locale: str) -> None:
    english = set(english_words())
    problems: dict[str, set[str]] = {}
    for name in NAMES:
        data = translated_sample(name, locale)
        for variant in variants(name, data):  # every branch, as far as the finder reaches
            if "something_else" in variant.values():
                continue  # a key the code never sends; its fallback shows it as it is
            case = apply(data, variant)
            found = leftovers(
                locale, render(name, locale, **case), given_text(case, set()), english
            )
            if found:
                problems.setdefault(name, set()).update(found)
    assert problems == {}


@pytest.mark.parametrize(
    ("locale", "text", "left"),
    [
        ("pt", "Juros a partir da etapa weekly_2.", {"weekly_2"}),
        ("pt", "Por favor, please pay <code>/paid 3</code>.", {"please", "pay"}),
        ("pl", "Od etapu formal: opłata late_fee.", {"formal", "late_fee"}),
        ("ru", "Этап firm, статус written_off, <code>weekly_3</code>.", {"firm"}),
    ],
)
def test_the_scan_finds_raw_keys_and_english_words(locale: str, text: str, left: set[str]) -> None:
    assert leftovers(locale, text, set(), {"please", "pay", "formal"}) == left
