"""The client's reminders in all four languages: each stage's own words in a combined
message, every announcement with its amount and date, the split past 4,096 characters,
and the one formula for what is owed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.domain.charges import InterestTerms
from bot.domain.owed import Terms, owed
from bot.domain.reminder_data import NEXT_STEPS, ItemMoney, StageContext
from messages.reminders import ReminderItem, Sender, compose_reminder
from messages.render import MAX_MESSAGE_LENGTH

LOCALES = ("en", "pt", "ru", "pl")
DUE = date(2026, 9, 1)
DEADLINE = date(2026, 12, 15)
FORMAL_DEADLINE = date(2026, 11, 16)
FEE_DAY = date(2026, 12, 3)
SENDER = Sender("Studio Ann", None, "IBAN PL61 1090 1014")
# Each language's words for the things every stage must keep in a combined message.
WORDS = {
    "en": {
        "formal": "Formal payment notice",
        "final": "Final notice",
        "fee": "late fee",
        "interest": "interest",
        "settlement": "Settlement offer",
        "firm_next": "A firm reminder follows",
        "formal_next": "A formal payment notice follows",
        "reach": "reach the person who handles payments",
        "lawyer": "lawyer",
        "call": "contact you personally",
    },
    "pt": {
        "formal": "Aviso formal de cobrança",
        "final": "Último aviso",
        "fee": "multa por atraso",
        "interest": "juros",
        "settlement": "Proposta de acordo",
        "firm_next": "lembrete mais firme",
        "formal_next": "enviarei um aviso formal de cobrança",
        "reach": "pessoa responsável pelos pagamentos",
        "lawyer": "advogado",
        "call": "entrar em contato com você pessoalmente",
    },
    "ru": {
        "formal": "Официальное требование об оплате",
        "final": "Последнее требование",
        "fee": "плата за просрочку",
        "interest": "проценты",
        "settlement": "Предложение об урегулировании",
        "firm_next": "более настойчивое напоминание",
        "formal_next": "последует официальное требование",
        "reach": "отвечает за оплату",
        "lawyer": "юристу",
        "call": "свяжусь с Вами лично",
    },
    "pl": {
        "formal": "Formalne wezwanie do zapłaty",
        "final": "Ostateczne wezwanie do zapłaty",
        "fee": "opłata za zwłokę",
        "interest": "odsetki",
        "settlement": "Propozycja ugody",
        "firm_next": "stanowcze przypomnienie",
        "formal_next": "formalne wezwanie do zapłaty",
        "reach": "odpowiedzialnej za płatności",
        "lawyer": "prawnikowi",
        "call": "skontaktuję się z Państwem osobiście",
    },
}


def item(
    number: int,
    stage: str,
    days: int,
    money: ItemMoney | None = None,
    context: StageContext | None = None,
    description: str = "Site",
) -> ReminderItem:
    return ReminderItem(
        invoice_id=number,
        number=number,
        amount_minor=100000,
        currency="EUR",
        description=description,
        due_date=DUE,
        stage=stage,
        days_overdue=days,
        deadline=DEADLINE,
        money=money or ItemMoney(),
        context=context or StageContext(),
    )


def five_stages(step: str = "lawyer") -> list[ReminderItem]:
    return [
        item(1, "weekly_1", 7, context=StageContext(weekly_position="first")),
        item(
            2,
            "weekly_3",
            21,
            ItemMoney(upcoming_fee_minor=2500, upcoming_fee_date=FEE_DAY),
            StageContext(weekly_position="last", next_kind="firm", next_date=FEE_DAY),
        ),
        item(3, "firm", 30, context=StageContext(next_kind="formal", next_date=DEADLINE)),
        item(
            4,
            "formal",
            61,
            ItemMoney(
                fee_minor=2500,
                due_now_minor=102500,
                upcoming_interest_percent="8",
                upcoming_interest_date=FEE_DAY,
            ),
            StageContext(next_step=step),
        ),
        item(
            5,
            "final",
            91,
            ItemMoney(settlement_minor=90000, settlement_percent="10", settlement_until=DEADLINE),
            StageContext(next_step=step, formal_deadline=FORMAL_DEADLINE),
        ),
    ]


@pytest.mark.parametrize("locale", LOCALES)
def test_a_combined_message_keeps_every_stage_and_announcement(locale: str) -> None:
    [text], _ = compose_reminder(five_stages(), "Acme", SENDER, locale)
    words = WORDS[locale]
    blocks = {n: text.split(f"<b>#{n}</b>")[1].split("<b>#")[0] for n in range(1, 6)}
    assert words["reach"] in blocks[1]
    assert words["firm_next"] in blocks[2] and words["fee"] in blocks[2]
    assert words["formal_next"] in blocks[3]
    assert words["formal"] in blocks[4] and words["lawyer"] in blocks[4]
    assert words["fee"] in blocks[4] and words["interest"] in blocks[4]
    assert words["final"] in blocks[5] and words["settlement"] in blocks[5]
    # Amounts and dates, each in the locale's own form: the fee, the rate, due now, days.
    for part in ("25,00" if locale != "en" else "25.00", "8%", "025", "3"):
        assert part in blocks[4] or part in blocks[2]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_final_notice_cites_the_formal_deadline_and_names_the_step(locale: str) -> None:
    final = five_stages("call")[4]
    [text], _ = compose_reminder([final], "Acme", SENDER, locale)
    [without], _ = compose_reminder(
        [item(5, "final", 91, context=StageContext())], "Acme", SENDER, locale
    )
    assert WORDS[locale]["call"] in text and WORDS[locale]["lawyer"] not in text
    assert "16" in text and "16" not in without  # Nov 16: the formal notice's deadline


@pytest.mark.parametrize("locale", LOCALES)
def test_each_next_step_has_its_own_words_in_every_language(locale: str) -> None:
    for notice in (3, 4):  # the formal and the final notice
        texts = {
            compose_reminder([five_stages(step)[notice]], "Acme", SENDER, locale)[0][0]
            for step in NEXT_STEPS
        }
        assert len(texts) == len(NEXT_STEPS)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_three_weekly_reminders_differ(locale: str) -> None:
    texts = {
        compose_reminder(
            [item(1, f"weekly_{n}", 7 * n, context=StageContext(weekly_position=position))],
            "Acme",
            SENDER,
            locale,
        )[0][0].replace(str(7 * n), "")
        for n, position in ((1, "first"), (2, "middle"), (3, "last"))
    }
    assert len(texts) == 3


@pytest.mark.parametrize("locale", LOCALES)
def test_past_4096_characters_the_message_is_split_between_invoices(locale: str) -> None:
    long = "Design & build <of> the shop " * 16
    items = [item(n, "weekly_2", 14, description=long) for n in range(1, 9)]
    parts, keyboard = compose_reminder(items, "Acme", SENDER, locale)
    assert len(parts) >= 2
    assert all(len(part) <= MAX_MESSAGE_LENGTH for part in parts)
    joined = "\n\n".join(parts)
    assert all(joined.count(f"<b>#{n}</b>") == 1 for n in range(1, 9))
    assert len([b for row in keyboard.inline_keyboard for b in row]) == 3 * 8


def test_owed_counts_the_fee_from_its_announced_day_and_interest_to_the_day() -> None:
    terms = Terms(100000, 2500, date(2026, 12, 1), InterestTerms(date(2026, 12, 1), Decimal(8)))
    paid = [(date(2026, 11, 24), 10000)]
    before = owed(terms, paid, date(2026, 11, 30))
    assert (before.fee_minor, before.interest_minor, before.due_now_minor) == (0, 0, 90000)
    after = owed(terms, paid, date(2026, 12, 6))
    # 5 days of 8% a year on 900.00 = 0.99
    assert (after.fee_minor, after.interest_minor, after.due_now_minor) == (2500, 99, 92599)
    older = Terms(100000, 2500, None, InterestTerms(None, None))
    assert owed(older, [], date(2026, 1, 1)).due_now_minor == 102500  # imported: counts now


def test_russian_notices_spell_the_month_and_never_end_a_date_with_two_full_stops() -> None:
    """Formal and final notices name their pay-by dates as in a letter ("15 декабря 2026 г."),
    and the "г." of a full date is never followed by a second full stop."""
    stages = five_stages("court")
    [combined], _ = compose_reminder(stages, "Acme", SENDER, "ru")
    singles = [compose_reminder([one], "Acme", SENDER, "ru")[0][0] for one in stages]
    formal, final = singles[3], singles[4]
    assert "не позднее <b>15 декабря 2026\u202fг.</b>" in formal
    assert "срок оплаты не позднее 16 ноября 2026\u202fг., и этот срок истёк" in final
    assert "обращусь в суд" in final and "обращусь в суд" in combined
    assert all("г.." not in text for text in (combined, *singles))
