"""What hostile people type and press: hypothesis strategies, and the settings they run with.

Most strategies here build input that is invalid by construction (a bad amount, an
impossible date, an invoice number that cannot exist), so the property stays crisp:
answered in one sentence, nothing changed. `anything` mixes in input that may be valid.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from handlers.commands import CLIENT_COMMANDS, OWNER_COMMANDS
from messages.callbacks import CLIENT_ACTIONS, OWNER_ACTIONS

# `ci` (the default) is derandomized: every run tries the same examples, so a failure in CI
# fails the same way on a laptop. HYPOTHESIS_PROFILE=hostile-explore draws new examples each
# run, and HOSTILE_SCALE=10 tries ten times as many, to hunt for new bugs.
_SHARED = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,  # one app and one world per test, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
}
settings.register_profile("hostile-ci", derandomize=True, **_SHARED)  # type: ignore[arg-type]
settings.register_profile("hostile-explore", **_SHARED)  # type: ignore[arg-type]
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "hostile-ci")
_SCALE = int(os.environ.get("HOSTILE_SCALE", "1"))


def budget(examples: int) -> settings:
    profile = _PROFILE if _PROFILE.startswith("hostile-") else "hostile-ci"
    return settings(settings.get_profile(profile), max_examples=examples * _SCALE)


# Derandomized (`hostile-ci`), a test draws its examples from the same seed on both
# databases (the seed is the test function's, whatever the database), so the PostgreSQL run
# repeats inputs the SQLite run tried. Half of them is enough for what differs there
# (types, constraints, locking, the order of rows), and took the hostile tests' PostgreSQL
# runs from 57 to 39 CPU seconds. Drawing fresh examples, a test keeps its full budget.
POSTGRESQL_SHARE = 2  # in the derandomized profile, PostgreSQL tries 1 example in 2


def on_postgresql(own: settings) -> settings:
    """The settings a test runs with on PostgreSQL, given its own (see POSTGRESQL_SHARE)."""
    if not own.derandomize:
        return own
    return settings(own, max_examples=max(1, own.max_examples // POSTGRESQL_SHARE))


LONG = "x" * 10_000
# Each one has broken something somewhere: numbers Decimal or int() choke on, dates that
# cannot exist, markup, direction marks, invisible and control characters, SQL.
NASTY = (
    "",
    " ",
    "0",
    "-0",
    "-1",
    "-1200",
    "0.00",
    "0.001",
    "1e309",
    "-1e309",
    "1e-309",
    "1E+3",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-inf",
    "9" * 30,
    "1" + "0" * 60,
    "2026-02-30",
    "0000-01-01",
    "9999-12-31",
    "2026-13-01",
    "2026-00-10",
    "29.02.2027",
    "in 99999999999 days",
    "in -5 days",
    "yesterday",
    "tomorrow",
    "#",
    "#0",
    "#-1",
    "²",
    "³",
    "١٢",
    "Ⅻ",
    "𝟙𝟚",
    "½",
    "<b>",
    "</b>",
    "<a href='x'>",
    "&",
    "&amp;",
    "&nbsp;",
    "a < b",
    "\u200f",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\u00a0",
    "🙂",
    "👨\u200d👩\u200d👧",
    "\x00",
    "\x01",
    "\x1b[31m",
    "'; DROP TABLE invoices; --",
    "' OR '1'='1",
    "%",
    "_",
    "\\",
    "{{ 7*7 }}",
    "{% raw %}",
    "\n",
    "\t",
    "none",
    "-",
    "https://",
    "javascript:alert(1)",
    "Acme",
    "acme",
    "Beta",
    "Zeta",
    LONG,
)

nasty = st.sampled_from(NASTY)
random_text = st.text(max_size=40)
word = st.one_of(nasty, random_text, st.integers().map(str))
# Telegram delivers no message that is empty or only white space.
text = st.one_of(
    nasty,
    random_text,
    st.lists(word, min_size=1, max_size=6).map(" ".join),
).filter(lambda message: message.strip() != "")

EXTRA_COMMANDS = ("foo", "NEWINVOICE", "newinvoice@duebot_test_bot", "paid@other_bot", "s")
any_command = st.sampled_from(sorted({*OWNER_COMMANDS, *CLIENT_COMMANDS, *EXTRA_COMMANDS}))


@st.composite
def command_line(draw: st.DrawFn, commands: st.SearchStrategy[str] = any_command) -> str:
    name = draw(commands)
    args = draw(st.lists(word, max_size=5))
    return " ".join([f"/{name}", *args]).rstrip() if args else f"/{name}"


# --- invalid by construction ------------------------------------------------------------
BAD_AMOUNTS = (
    "1E1000000",
    "0",
    "-0",
    "-5",
    "-1200",
    "0.00",
    "0.001",
    "1.005",
    "1e309",
    "-1e309",
    "1e-309",
    "NaN",
    "sNaN",
    "Infinity",
    "-inf",
    "abc",
    "1,2,3.4.5",
    "²",
    "½",
    "<b>",
    "&",
    "'; DROP TABLE payments; --",
    "\u200f12",
    LONG,
)
bad_amount = st.one_of(
    st.sampled_from(BAD_AMOUNTS),
    st.integers(max_value=0).map(str),
    st.text(alphabet=st.characters(categories=["L", "P", "S"]), min_size=1, max_size=20).filter(
        lambda s: not any(ch.isdigit() for ch in s)
    ),
)
BAD_DATES = (
    "2026-02-30",
    "0000-01-01",
    "9999-12-31",
    "2026-13-01",
    "2026-00-10",
    "1900-01-01",
    "2100-01-01",
    "yesterday",
    "2026-11-24",  # today: a pause must end after it
    "in -5 days",
    "abc",
    "<b>",
    "2",
    "15",
    "²",
    "½",
    LONG,
)
bad_date = st.sampled_from(BAD_DATES)
# Numbers that are no invoice of owner A's: not numbers at all, or far past the last one.
BAD_NUMBERS = ("0", "-1", "#-1", "#", "abc", "²", "³", "Ⅻ", "½", "1.5", "1e3", "<b>", "&", LONG)
bad_number = st.one_of(
    st.sampled_from(BAD_NUMBERS),
    st.integers(min_value=50).map(str),
    st.integers(min_value=50).map(lambda n: f"#{n}"),
    st.integers(max_value=-1).map(str),
)
bad_name = st.one_of(
    st.sampled_from(("\x00", "a\x01b", "\u202e" * 3, "x" * 101, LONG, "Ann\x1bCo")),
    st.text(min_size=101, max_size=300).filter(lambda s: len(" ".join(s.split())) > 100),
)

# --- button data ----------------------------------------------------------------------------
client_action = st.sampled_from(CLIENT_ACTIONS)
owner_action = st.sampled_from(OWNER_ACTIONS)
huge_id = st.one_of(
    st.integers(min_value=2**31 - 1, max_value=10**40),
    st.sampled_from((2**31, 2**63, 2**64, 10**60)),
)
stray_id = st.one_of(st.integers(min_value=0, max_value=60), huge_id)


def fits(data: str) -> bool:
    return len(data.encode()) <= 64


random_data = st.one_of(
    st.text(max_size=64).filter(fits),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")).filter(fits),
    st.sampled_from(
        (
            "c",
            "c:",
            "c::",
            "c:pay:",
            "c:pay:-1",
            "c:pay:²",
            "c:pay:1:2",
            "o:paid:1",
            "x:pay:1",
            "d:client:1",
            "d:due:99999999999999",
            "d:skip:0",
            "c:pay:" + "9" * 58,
            "o:card:" + "9" * 57,
            "c:pay:٣",
            "o:card:³",
            "\x00",
        )
    ),
)
