"""Random commands and text from owners, clients and strangers: never a crash, always a sane
answer, and bad input changes nothing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from handlers.commands import CLIENT_COMMANDS, OWNER_COMMANDS
from tests.conftest import CLIENT_USER_ID, OWNER_ID, STRANGER_ID
from tests.hostile import strategies as hs
from tests.hostile.world import (
    OTHER_CLIENT_ID,
    PEOPLE,
    World,
    check_all,
    check_refused,
    check_sent,
)

# Owner A's invoice numbers, as World.build makes them.
OPEN, OVERDUE, CLAIMED, DISPUTED, PROPOSED, PROMISED, PAUSED, PAID, UNLINKED = range(1, 10)
REAL_NUMBERS = st.integers(min_value=1, max_value=9).map(str)
NOT_OPEN = st.sampled_from((PAID,)).map(str)
NOT_PAUSED = st.sampled_from((OPEN, OVERDUE, CLAIMED, DISPUTED, PROPOSED, PROMISED, PAID)).map(str)
NOT_REMINDABLE = st.sampled_from((CLAIMED, DISPUTED, PROPOSED, PROMISED, PAUSED, PAID, UNLINKED))
# Due dates /newinvoice can never take: impossible, unreadable, or more than 5 years off.
NEVER_DUE = st.sampled_from(
    ("2026-02-30", "0000-01-01", "9999-12-31", "2026-13-01", "2026-00-10", "1900-01-01", "abc")
)
LISTS = ("open", "overdue", "all")
UNKNOWN_CLIENTS = st.sampled_from(("Nobody", "Zeta", "Acme Two", "99", "0", "#7", "zz"))

SETTINGS_BAD = {
    "name": (hs.LONG,),
    "language": ("xx", "<b>", "english", "²", hs.LONG),
    "timezone": ("Mars/Olympus", "Europe", "<b>", "UTC+25", "../../etc/passwd", "²", hs.LONG),
    "currency": ("XYZ", "EU", "EURO", "€", "<b>", "123"),
    "paylink": ("ftp://x.y", "javascript:alert(1)", "https://", "http://nodot", hs.LONG),
    "instructions": (hs.LONG,),
    "hours": ("25:00-26:00", "18:00-09:00", "abc", "9-5", "²"),
    "days": ("funday", "mon-", "mon..fri", "²", "<b>"),
    "holidays": ("XX", "<b>", "²", "Poland"),
    "ignored": ("0", "21", "-1", "²", "³", "abc", "1e3", "3.5"),
    "invitedays": ("0", "61", "-1", "²", "abc", "1e3"),
    "latefee": ("-5", "0", "51%", "NaN%", "NaN", "1e309", "²", "abc", "5 5", "0.001", "2000000"),
    "interest": ("0", "101", "8 from nowhere", "8 to formal", "NaN", "-1", "8 from", "²"),
    "settlement": ("91%", "10% 0", "10% 91", "10% ²", "10% 14 7", "0%", "NaN%"),
    "earlydiscount": ("51%", "0%", "NaN", "-1%", "sNaN%", "1e-309%"),
    "ladder": (
        "add weekly +999",
        "add nonsense 5",
        "remove nothing",
        "move firm +²",
        "move firm ²",
        "add weekly ³",
        "frobnicate",
        "reset now",
        "remove",
    ),
    "nextstep": ("sue", "lawyer court", "²", "call" * 2000),
    "digest": ("25:00", "9", "noon", "²", "１２:００", "09:00 daily", "-1:00", "9" * 2000),
    "nonsense": ("1",),
}


@st.composite
def bad_setting(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(sorted(SETTINGS_BAD)))
    value = draw(st.sampled_from(SETTINGS_BAD[field]))
    return f"/settings {field} {value}"


def line(*parts: st.SearchStrategy[str] | str) -> st.SearchStrategy[str]:
    return st.tuples(*(st.just(p) if isinstance(p, str) else p for p in parts)).map(" ".join)


# Owner commands whose arguments cannot be right.
invalid_owner_command = st.one_of(
    line("/paid", REAL_NUMBERS, hs.bad_amount),
    line("/paid", hs.bad_number),
    line("/paid", NOT_OPEN),
    line("/invoice", hs.bad_number),
    line("/pause", hs.bad_number),
    line("/pause", st.just(str(OPEN)), hs.bad_date),
    line("/pause", st.sampled_from((PAUSED, PAID, DISPUTED, CLAIMED)).map(str)),
    line("/resume", hs.bad_number),
    line("/resume", NOT_PAUSED),
    line("/remind", hs.bad_number),
    line("/remind", NOT_REMINDABLE.map(str)),
    line("/writeoff", st.one_of(hs.bad_number, NOT_OPEN)),
    line("/void", st.one_of(hs.bad_number, NOT_OPEN)),
    line(
        "/invoices", hs.word.filter(lambda w: bool(w.split()) and w.split()[0].lower() not in LISTS)
    ),
    line("/newinvoice Acme", hs.bad_amount, st.just("2026-12-20")),
    line("/newinvoice Acme 100", NEVER_DUE),
    line("/newinvoice Acme 100 XYZ 2026-12-20"),
    line("/newinvoice Acme 100 2026-12-20", st.just("x" * 501)),
    line("/newinvoice", UNKNOWN_CLIENTS, st.just("100 2026-12-20")),
    line("/newclient", hs.bad_name),
    line("/client", st.one_of(UNKNOWN_CLIENTS, hs.bad_number)),
    bad_setting(),
)


@hs.budget(80)
@given(command=invalid_owner_command)
async def test_owner_commands_with_bad_arguments_are_refused_and_change_nothing(
    world: World, command: str
) -> None:
    await world.restore()
    outcome = await world.send(OWNER_ID, command)
    check_refused(outcome)
    assert outcome.refused and len(outcome.replies) == 1, outcome.describe()


NOT_OWNERS = st.sampled_from((CLIENT_USER_ID, OTHER_CLIENT_ID, STRANGER_ID))


@hs.budget(40)
@given(person=NOT_OWNERS, message=st.one_of(hs.command_line(), hs.text))
async def test_clients_and_strangers_change_nothing(
    world: World, person: int, message: str
) -> None:
    await world.restore()
    outcome = await world.send(person, message)
    check_refused(outcome)


@hs.budget(60)
@given(
    person=st.sampled_from(sorted(PEOPLE.values())),
    message=st.one_of(hs.command_line(), hs.text, hs.command_line(st.sampled_from(("start",)))),
)
async def test_anything_from_anyone_gets_a_sane_answer(
    world: World, person: int, message: str
) -> None:
    await world.restore()
    outcome = await world.send(person, message)
    check_all(outcome)


async def test_a_ten_kilobyte_message_is_answered(world: World) -> None:
    for person in PEOPLE.values():
        check_sent(await world.send(person, hs.LONG))


async def test_every_bad_setting_is_refused_and_changes_nothing(world: World) -> None:
    # Few enough to try them all, rather than leave it to chance which ones are drawn.
    for field, values in SETTINGS_BAD.items():
        for value in values:
            outcome = await world.send(OWNER_ID, f"/settings {field} {value}")
            check_refused(outcome)
            assert outcome.templates[-1] == "owner/refused", outcome.describe()


# Each has crashed some command: NUL (PostgreSQL refuses it even in a query), a digit
# int() cannot read, a number no column holds, and markup, a direction mark and SQL.
# (10 kB arguments are among the bad amounts, numbers, names and settings above.)
POISONS = ("\x00", "²", "9" * 40, "<b>&amp;\u202e'; DROP TABLE clients;--")
# Commands that read their arguments (the others ignore them).
READING = sorted(set(OWNER_COMMANDS) - {"help", "clients", "report", "export", "cancel"})
SETTING_FIELDS = sorted(set(SETTINGS_BAD) - {"nonsense"})


async def test_every_command_survives_poisoned_arguments(world: World) -> None:
    # Every command and setting with every poison: too few to leave to chance.
    lines = [f"/{command} {poison}" for command in READING for poison in POISONS]
    # Settings already meet "²" and the long ones in SETTINGS_BAD.
    lines += [f"/settings {field} {poison}" for field in SETTING_FIELDS for poison in POISONS[::3]]
    lines += [f"/newinvoice Acme 100 2026-12-20 {poison}" for poison in POISONS]
    # The commands that read a second argument after the invoice number (#2 is overdue).
    lines += [
        f"/{command} 2 {poison}"
        for command in ("paid", "pause", "letter", "repeat")
        for poison in POISONS
    ]
    for line_ in lines:
        await world.restore()
        check_all(await world.send(OWNER_ID, line_))
    for command in CLIENT_COMMANDS:
        for poison in POISONS:
            check_refused(await world.send(CLIENT_USER_ID, f"/{command} {poison}"))
