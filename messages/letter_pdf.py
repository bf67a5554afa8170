"""The formal payment-demand letter (/letter) as a PDF: layout only.

The words come from the `letter/*` templates in the letter's language, rendered as plain
text (the PDF is not Telegram HTML, so nothing is escaped). Two templates give rows of
`label<TAB>value`: `letter/parties` (from, to, date) and `letter/amounts` (the last row
is the total). The font is DejaVu Sans as shipped inside matplotlib, so Latin and
Cyrillic come out as real text, with no download and no system font.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, time
from functools import cache
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace
from jinja2 import Environment

from bot.domain.letter import LetterContent
from messages.render import environment, template_path

FONT = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
MARGIN_MM = 22
BODY_PT = 10.5
LINE_MM = 5.6
GREY = (110, 110, 110)
BOX_FILL = (243, 245, 248)


def font_path(style: str = "") -> Path:
    # Found without importing matplotlib (a third of a second and 40 MB the bot never needs).
    spec = importlib.util.find_spec("matplotlib")
    assert spec is not None and spec.origin is not None, "matplotlib is a dependency"
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / FONT_FILES[style]


@cache
def _plain_environment() -> Environment:
    """The messages' environment (filters, plurals, strict undefined) without HTML escaping."""
    return environment().overlay(autoescape=False)


def render_plain(name: str, locale: str, /, **data: Any) -> str:
    template = _plain_environment().get_template(template_path(name, locale))
    return template.render(locale=locale, **data).strip()


class _LetterPdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.footer_text} · {self.page_no()}/{{nb}}", align=Align.C)


def letter_pdf(letter: LetterContent) -> bytes:
    """The letter as PDF bytes: letterhead, parties, subject, amounts, deadline, how to pay."""

    def text(name: str) -> str:
        return render_plain(f"letter/{name}", letter.locale, letter=letter)

    pdf = _LetterPdf(f"{letter.business_name} · #{letter.number}")
    for style in FONT_FILES:
        pdf.add_font(FONT, style, font_path(style))
    title = text("law_title")  # i13c: the title the owner's country's law gives it
    pdf.set_title(f"{title} #{letter.number}")
    pdf.set_author(letter.business_name)
    pdf.set_creator("duebot")
    pdf.set_lang(letter.locale)
    # A letter's bytes depend only on what it says, not on when the PDF was drawn.
    pdf.set_creation_date(datetime.combine(letter.issued_on, time(12), tzinfo=UTC))
    pdf.set_margins(MARGIN_MM, 18, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    _letterhead(pdf, letter.business_name)
    _rows(pdf, text("parties"))
    pdf.ln(7)
    pdf.set_font(FONT, "B", 15)
    pdf.multi_cell(0, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", BODY_PT)
    pdf.multi_cell(0, LINE_MM, text("subject"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    _paragraphs(pdf, text("body"))
    _amounts(pdf, text("amounts"))
    pdf.ln(5)
    _deadline_box(pdf, text("deadline"))
    pdf.ln(5)
    _payment(pdf, text("payment"))
    _paragraphs(pdf, text("after"))
    _paragraphs(pdf, text("law"))  # i13c: the legal basis, by the owner's country
    pdf.ln(3)
    _paragraphs(pdf, text("closing"), gap=0.5)
    return bytes(pdf.output())


def _letterhead(pdf: FPDF, business_name: str) -> None:
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(0, 8, business_name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*GREY)
    pdf.set_line_width(0.4)
    pdf.line(pdf.l_margin, pdf.get_y() + 1.5, pdf.w - pdf.r_margin, pdf.get_y() + 1.5)
    pdf.ln(8)


def _rows(pdf: FPDF, rendered: str) -> None:
    """`label<TAB>value` lines as a two-column block: grey labels, plain values."""
    rows = [line.partition("\t")[::2] for line in rendered.splitlines() if line.strip()]
    pdf.set_font(FONT, "", BODY_PT)
    label_width = max(pdf.get_string_width(label.strip()) for label, _ in rows) + 6
    for label, value in rows:
        pdf.set_text_color(*GREY)
        pdf.cell(label_width, LINE_MM, label.strip())
        pdf.set_text_color(0)
        pdf.multi_cell(0, LINE_MM, value.strip(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _paragraphs(pdf: FPDF, rendered: str, *, gap: float = 2.5) -> None:
    """Each line of the text is a paragraph of its own, `gap` mm apart."""
    pdf.set_font(FONT, "", BODY_PT)
    pdf.set_text_color(0)
    for line in rendered.splitlines():
        if line.strip():
            pdf.multi_cell(0, LINE_MM, line.strip(), align=Align.L, new_x=XPos.LMARGIN)
            pdf.ln(gap)


def _amounts(pdf: FPDF, rendered: str) -> None:
    """The amounts as a small table; the last row (the total) in bold."""
    rows = [line.partition("\t")[::2] for line in rendered.splitlines() if line.strip()]
    pdf.set_font(FONT, "", BODY_PT)
    pdf.set_draw_color(190)
    pdf.set_line_width(0.2)
    with pdf.table(
        width=int(pdf.epw),
        col_widths=(3, 1),
        text_align=(Align.L, Align.R),
        first_row_as_headings=False,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=LINE_MM + 1,
        padding=(1.2, 1.5),
    ) as table:
        for index, (label, value) in enumerate(rows):
            style = FontFace(emphasis="BOLD") if index == len(rows) - 1 else None
            row = table.row()
            row.cell(label.strip(), style=style)
            row.cell(value.strip(), style=style)


def _deadline_box(pdf: FPDF, rendered: str) -> None:
    pdf.set_font(FONT, "B", BODY_PT + 1)
    pdf.set_fill_color(*BOX_FILL)
    pdf.set_draw_color(150)
    pdf.set_line_width(0.3)
    pdf.multi_cell(
        0,
        LINE_MM + 0.6,
        rendered,
        border=1,
        fill=True,
        align=Align.L,
        padding=(3, 4),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )


def _payment(pdf: FPDF, rendered: str) -> None:
    """First line: the heading; then one line each: link, instructions, reference."""
    heading, _, rest = rendered.partition("\n")
    pdf.set_font(FONT, "B", BODY_PT)
    pdf.multi_cell(0, LINE_MM, heading.strip(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    _paragraphs(pdf, rest, gap=0.5)
    pdf.ln(2)
