"""Random files sent for /import: random bytes, random rows under the real headers, broken
quoting, huge fields, other encodings. Never a crash; a file with any problem changes
nothing and gets the problems listed; a file that goes in goes in whole and sound."""

from __future__ import annotations

import codecs

from hypothesis import event, given
from hypothesis import strategies as st

from bot.domain.csv_format import CLIENT_COLUMNS, INVOICE_COLUMNS, MAX_FILE_BYTES
from tests.conftest import CLIENT_USER_ID, OWNER_ID, STRANGER_ID
from tests.fakes.updates import document_update
from tests.hostile import strategies as hs
from tests.hostile.test_dialogs import integrity
from tests.hostile.world import Outcome, World, check_all

HEADERS = {
    "clients": [column.name for column in CLIENT_COLUMNS],
    "invoices": [column.name for column in INVOICE_COLUMNS],
}
# Cells that are nearly right, or wrong in the ways spreadsheets and people get them wrong.
CELLS = st.one_of(
    hs.word,
    st.sampled_from(
        (
            "Acme",
            "Beta Studio",
            "Zeta",
            "New Client",
            "1200",
            "1200.50",
            "1 200,50",
            "-5",
            "0",
            "EUR",
            "XYZ",
            "2026-12-01",
            "2026-02-30",
            "open",
            "paid",
            "disputed",
            "yes",
            "maybe",
            "en",
            "Europe/Warsaw",
            "Europe",
            "https://pay.example/1",
            '=HYPERLINK("x")',
            '"quoted, with comma"',
            'broken "quote',
            "line\nbreak",
            "x" * 5000,
        )
    ),
)


def cell(value: str) -> str:
    """As a spreadsheet would write it: quoted when it must be, or sometimes not at all."""
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def rows_under_a_header(draw: st.DrawFn) -> bytes:
    names = list(HEADERS[draw(st.sampled_from(sorted(HEADERS)))])
    if draw(st.booleans()):
        names = draw(st.permutations(names))[: draw(st.integers(1, len(names)))]
    lines = [",".join(names)]
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        width = draw(st.sampled_from((len(names), len(names), len(names) - 1, len(names) + 2)))
        values = [draw(CELLS) for _ in range(max(width, 0))]
        quote = draw(st.booleans())
        lines.append(",".join(cell(v) if quote else v for v in values))
    text = draw(st.sampled_from(("\n", "\r\n"))).join(lines)
    encoding = draw(st.sampled_from(("utf-8", "utf-8-sig", "utf-16", "cp1251", "latin-1")))
    return text.encode(encoding, errors="replace")


broken_quoting = st.sampled_from(
    (
        b'name\n"Acme',
        b'name\n"Acme""\n"Beta',
        b'client,amount,due_date\n"Acme,1200,2026-12-01',
        b'client,amount,due_date\nAcme,"1200,2026-12-01\n',
        b'name\nA"c"me\n',
        b'"name\nAcme\n',
        b"name\r\r\r\nAcme",
    )
)
files = st.one_of(
    st.binary(max_size=2000),
    rows_under_a_header(),
    broken_quoting,
    st.sampled_from(
        (
            b"",
            b"\xef\xbb\xbf",
            codecs.BOM_UTF16_LE + "name\nAcme".encode("utf-16-le"),
            b"PK\x03\x04rest of a workbook",
            b"name\nAc\x00me",
            "name\nАкме".encode("cp1251"),
        )
    ),
)


async def upload(world: World, person: int, content: bytes, name: str, caption: str) -> Outcome:
    file_id = world.bot_api.host_file(content, name)
    update = document_update(person, file_id, name, caption=caption or None, file_size=len(content))
    return await world.document(person, update)


@hs.budget(40)
@given(
    content=files,
    name=st.sampled_from(("clients.csv", "invoices.csv", "data.txt", "x.xlsx", "")),
    caption=st.sampled_from(("/import", "", "/import now")),
)
async def test_a_random_file_for_import_is_imported_whole_or_not_at_all(
    world: World, content: bytes, name: str, caption: str
) -> None:
    await world.restore()
    outcome = await upload(world, OWNER_ID, content, name or "file", caption)
    check_all(outcome)
    integrity(outcome.after)
    if "owner/csv/import_done" not in outcome.templates:
        assert not outcome.changed, outcome.describe()
        if "owner/csv/import_errors" in outcome.templates:
            [answer] = outcome.replies
            assert answer.text.startswith("❌ Nothing was imported"), answer.text
    event(f"answer: {outcome.templates[-1] if outcome.templates else 'none'}")


@hs.budget(15)
@given(content=files, person=st.sampled_from((CLIENT_USER_ID, STRANGER_ID)))
async def test_a_file_for_import_from_anyone_but_an_owner_changes_nothing(
    world: World, content: bytes, person: int
) -> None:
    await world.restore()
    outcome = await upload(world, person, content, "clients.csv", "/import")
    check_all(outcome)
    assert not outcome.changed and outcome.templates == ["common/not_owner"], outcome.describe()


async def test_a_huge_field_or_a_file_over_the_limit_is_refused(world: World) -> None:
    huge = b"name\n" + b"A" * 1_000_000 + b"\n"
    outcome = await upload(world, OWNER_ID, huge, "clients.csv", "/import")
    check_all(outcome)
    assert not outcome.changed and "owner/csv/import_errors" in outcome.templates
    # Telegram says how big a file is before it is fetched: too big is refused unread.
    file_id = world.bot_api.host_file(b"name\nAcme\n", "big.csv")
    update = document_update(OWNER_ID, file_id, "big.csv", file_size=MAX_FILE_BYTES + 1)
    outcome = await world.document(OWNER_ID, update)
    check_all(outcome)
    assert not outcome.changed and not world.bot_api.sent("getFile"), outcome.describe()
