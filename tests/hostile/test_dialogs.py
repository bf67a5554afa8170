"""Random answers in the middle of a conversation: the /newinvoice steps, and the typed
answers the bot waits for (a promised date, dispute details, a new amount, a setting)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import event, given
from hypothesis import strategies as st

from bot.domain.text import one_line
from messages.callbacks import OWNER_ACTIONS
from tests.conftest import CLIENT_USER_ID, OWNER_ID, START
from tests.hostile import strategies as hs
from tests.hostile.world import Outcome, Rows, World, check_all

TODAY = START.date()
# What an owner might type at any step: right answers for some step, and wrong ones.
STEP_TEXTS = st.one_of(
    hs.text,
    st.sampled_from(
        (
            "Acme",
            "acme",
            "Beta",
            "Zeta",
            "Nobody",
            "1200",
            "1200 USD",
            "1200 XYZ",
            "1 2 3",
            "0",
            "-5",
            "NaN",
            "1e309",
            "0.001",
            "2026-02-30",
            "0000-01-01",
            "in 14 days",
            "2026-12-20",
            "x" * 501,
            "/cancel",
            "/newinvoice",
        )
    ),
)


def integrity(rows: Rows) -> None:
    """Whatever happened, every invoice is sound and belongs with its client's owner."""
    owner_of = {client["id"]: client["owner_id"] for client in rows["clients"]}
    for invoice in rows["invoices"]:
        assert owner_of[invoice["client_id"]] == invoice["owner_id"], invoice
        assert 0 < invoice["amount_minor"] <= 10**13, invoice
        assert abs(invoice["due_date"] - TODAY) <= timedelta(days=5 * 365), invoice
        assert len(invoice["description"]) <= 500, invoice


def pressed(kind: str, ids: st.SearchStrategy[int]) -> st.SearchStrategy[tuple[str, str]]:
    return ids.map(lambda target: ("press", f"d:{kind}:{target}"[:64]))


def typed(texts: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, str]]:
    return texts.map(lambda text: ("text", text))


@st.composite
def dialog_script(draw: st.DrawFn, world: World) -> list[tuple[str, str]]:
    """Each step answered (rightly or not, typed or pressed), with stray input in between:
    ("text", what is typed) or ("press", button data)."""
    clients = sorted(world.client_ids.values())  # Zeta's belongs to another owner
    answers = (
        st.one_of(
            typed(st.sampled_from(("Acme", "acme", "Beta", "Zeta", "Nobody", "#1", "99"))),
            pressed("client", st.sampled_from(clients)),
            pressed("client", hs.stray_id),
        ),
        typed(st.one_of(st.sampled_from(("1200", "1200 USD", "0.5 JPY")), hs.bad_amount)),
        st.one_of(
            typed(st.sampled_from(("in 14 days", "2026-12-20", "Dec 1"))),
            typed(hs.bad_date),
            pressed("due", st.sampled_from((0, 7, 14, 30))),
            pressed("due", hs.stray_id),
        ),
        st.one_of(typed(hs.text), pressed("skip", st.sampled_from((0, 1)))),
    )
    stray = st.one_of(
        typed(STEP_TEXTS),
        pressed("client", hs.stray_id),
        pressed("due", hs.stray_id),
        pressed("skip", st.just(0)),
    )
    script: list[tuple[str, str]] = []
    for answer in answers:
        script += draw(st.lists(stray, max_size=1))
        script.append(draw(answer))
    return script


async def step(world: World, kind: str, value: str) -> Outcome:
    if kind == "press":
        return await world.press(OWNER_ID, value)
    return await world.send(OWNER_ID, value)


@hs.budget(25)
@given(data=st.data())
async def test_the_invoice_dialog_survives_any_answer_at_any_step(
    world: World, data: st.DataObject
) -> None:
    await world.restore()
    check_all(await world.send(OWNER_ID, "/newinvoice"))
    for kind, value in data.draw(dialog_script(world)):
        outcome = await step(world, kind, value)
        check_all(outcome)
        integrity(outcome.after)
    # --hypothesis-show-statistics: how far the dialogs got
    event(f"last answer: {outcome.templates[-1] if outcome.templates else 'none'}")


# --- typed answers ---------------------------------------------------------------------
DATE_TEXTS = st.one_of(
    hs.text,
    st.sampled_from(
        (
            "tomorrow",
            "in 3 days",
            "in 31 days",
            "in 99999999999 days",
            "yesterday",
            "2026-02-30",
            "0000-01-01",
            "9999-12-31",
            "2026-12-01",
            "Dec 1",
            "1 grudnia",
            "31/12",
        )
    ),
)


@hs.budget(25)
@given(text=DATE_TEXTS)
async def test_a_typed_promise_date_is_taken_or_asked_again(world: World, text: str) -> None:
    await world.restore()
    invoice = world.invoice_ids["open"]
    check_all(await world.press(CLIENT_USER_ID, f"c:ldate:{invoice}"))
    outcome = await world.send(CLIENT_USER_ID, text)
    check_all(outcome)
    if "client/promise_done" in outcome.templates:
        [row] = [i for i in outcome.after["invoices"] if i["id"] == invoice]
        assert row["status"] == "promised"
        promised: date = row["promised_for"]
        assert TODAY < promised <= TODAY + timedelta(days=30), promised
    else:
        assert not outcome.changed, outcome.describe()


@hs.budget(20)
@given(text=hs.text, reason=st.sampled_from(("rnd", "rq", "ramt", "roth")))
async def test_dispute_details_are_stored_as_typed_and_shown_safely(
    world: World, text: str, reason: str
) -> None:
    await world.restore()
    invoice = world.invoice_ids["open"]
    check_all(await world.press(CLIENT_USER_ID, f"c:{reason}:{invoice}"))
    outcome = await world.send(CLIENT_USER_ID, text)
    check_all(outcome)  # includes the owner's alert quoting the details: valid HTML, ≤4096
    if "client/problem_done" in outcome.templates:
        [dispute] = [d for d in outcome.after["disputes"] if d["invoice_id"] == invoice]
        assert dispute["details"] == one_line(text)[:1000]


@hs.budget(25)
@given(text=st.one_of(hs.bad_amount, hs.text, st.sampled_from(("500", "800", "1 000,50"))))
async def test_a_typed_new_amount_is_taken_or_refused(world: World, text: str) -> None:
    await world.restore()
    number = world.numbers["disputed"]
    check_all(await world.press(OWNER_ID, f"o:adjust:{number}"))
    outcome = await world.send(OWNER_ID, text)
    check_all(outcome)
    [row] = [i for i in outcome.after["invoices"] if i["number"] == number and i["owner_id"] == 1]
    if "owner/decided" in outcome.templates:
        assert row["status"] != "disputed" and row["amount_minor"] > 0
    else:
        assert row["status"] == "disputed" and not outcome.changed, outcome.describe()


SETTING_BUTTONS = tuple(a for a in OWNER_ACTIONS if a.startswith("set") and a != "setladder")


@hs.budget(25)
@given(action=st.sampled_from((*SETTING_BUTTONS, "ctz")), text=hs.text)
async def test_a_typed_setting_is_saved_or_refused(world: World, action: str, text: str) -> None:
    await world.restore()
    target = world.client_ids["Acme"] if action == "ctz" else 0
    check_all(await world.press(OWNER_ID, f"o:{action}:{target}"))
    check_all(await world.send(OWNER_ID, text))
