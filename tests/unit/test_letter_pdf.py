"""The letter PDF: a font that carries every language we write, text that stays text."""

from __future__ import annotations

import dataclasses
import io
import logging
from datetime import date

import pytest
from fpdf import FPDF
from fpdf.fonts import TTFFont
from pypdf import PdfReader

from bot.config import SUPPORTED_LOCALES
from bot.domain.letter import LetterContent
from messages.letter_pdf import FONT, FONT_FILES, font_path, letter_pdf

LETTER = LetterContent(
    locale="en",
    business_name="Smith & Sons <Studio>",
    client_name="Acme",
    number=7,
    description="Logo",
    currency="EUR",
    issued_on=date(2026, 12, 1),
    due_date=date(2026, 10, 20),
    days_overdue=42,
    amount_minor=100000,
    paid_minor=0,
    fee_minor=0,
    interest_minor=0,
    due_now_minor=100000,
    interest_since=None,
    interest_percent=None,
    deadline=date(2026, 12, 15),
    pay_link=None,
    pay_instructions="IBAN PL61 1090 1014 & BIC WBKPPLPP",
)


def text_of(content: bytes) -> str:
    pages = PdfReader(io.BytesIO(content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


@pytest.mark.parametrize("style", list(FONT_FILES))
def test_the_font_covers_every_letter_of_our_languages(style: str) -> None:
    pdf = FPDF()
    pdf.add_font(FONT, style, font_path(style))
    font = pdf.fonts[f"{FONT.lower()}{style}"]
    assert isinstance(font, TTFFont)
    covered = font.cmap
    alphabet = "Счёт ЁЖЩЪЫЭЮЯ ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ ãâçéêõú ÃÇÉÕ €«»„”—−·"
    assert [char for char in alphabet if char != " " and ord(char) not in covered] == []


def test_cyrillic_renders_as_text(caplog: pytest.LogCaptureFixture) -> None:
    pdf = FPDF()
    pdf.add_font(FONT, "", font_path())
    pdf.set_font(FONT, size=12)
    pdf.add_page()
    with caplog.at_level(logging.WARNING):
        pdf.cell(text="Счёт")
        content = bytes(pdf.output())
    assert "missing" not in caplog.text
    assert text_of(content) == "Счёт"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_a_letter_renders_in_every_language(locale: str) -> None:
    content = letter_pdf(dataclasses.replace(LETTER, locale=locale))

    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    assert reader.metadata is not None and reader.metadata.author == "Smith & Sons <Studio>"
    assert "#7" in text_of(content)


def test_the_letter_is_plain_text_not_html() -> None:
    text = text_of(letter_pdf(LETTER))

    assert "Smith & Sons <Studio>" in text
    assert "IBAN PL61 1090 1014 & BIC WBKPPLPP" in text
    assert "&amp;" not in text and "&lt;" not in text


def test_a_long_letter_flows_onto_a_second_page() -> None:
    long = dataclasses.replace(LETTER, pay_instructions="\n".join(["IBAN PL61 1090"] * 30))

    text = text_of(letter_pdf(long))

    assert "Smith & Sons <Studio> · #7 · 1/2" in text
    assert "Smith & Sons <Studio> · #7 · 2/2" in text
    assert "Yours sincerely, Smith & Sons <Studio>" in text


def test_the_same_letter_gives_the_same_bytes() -> None:
    assert letter_pdf(LETTER) == letter_pdf(LETTER)
