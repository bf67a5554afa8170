"""Button presses with made-up data, other people's ids and ids no column can hold: every
press is answered once, and none changes anything it should not."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from messages.callbacks import CLIENT_ACTIONS, OWNER_ACTIONS
from tests.conftest import CLIENT_USER_ID, OTHER_OWNER_ID, OWNER_ID, STRANGER_ID
from tests.hostile import strategies as hs
from tests.hostile.world import OTHER_CLIENT_ID, PEOPLE, World, check_all, check_refused

EVERYONE = st.sampled_from(sorted(PEOPLE.values()))
NOT_OWNERS = st.sampled_from((CLIENT_USER_ID, OTHER_CLIENT_ID, STRANGER_ID))
# Owner actions aimed at a client (by id) or at an invoice (by the owner's own number).
ON_CLIENTS = tuple(
    a
    for a in OWNER_ACTIONS
    if a in ("invite", "pauseall", "unpauseall", "block", "unblock", "clang", "ctz")
    or a.startswith(("cl", "forget"))
)
ON_INVOICES = (
    "pause",
    "resume",
    "remind",
    "card",
    "confirm",
    "notrecv",
    "accept",
    "decline",
    "resolve",
    "adjust",
    "cancelinv",
    "offerplan",
    "endplan",
)


@hs.budget(40)
@given(person=EVERYONE, data=hs.random_data)
async def test_made_up_button_data_changes_nothing(world: World, person: int, data: str) -> None:
    await world.restore()
    check_refused(await world.press(person, data))


@st.composite
def someone_elses_client_button(draw: st.DrawFn, world: World) -> tuple[int, str]:
    """A client button on an invoice that is not the presser's."""
    invoice = draw(st.sampled_from(sorted(world.invoice_ids.values())))
    person = draw(st.sampled_from((OTHER_CLIENT_ID, STRANGER_ID, OWNER_ID, OTHER_OWNER_ID)))
    if person == OTHER_CLIENT_ID:
        invoice = draw(st.sampled_from((invoice, world.other_invoice_id)))
        person = CLIENT_USER_ID if invoice == world.other_invoice_id else person
    return person, f"c:{draw(hs.client_action)}:{invoice}"


@hs.budget(40)
@given(data=st.data())
async def test_client_buttons_pressed_by_anyone_else_change_nothing(
    world: World, data: st.DataObject
) -> None:
    await world.restore()
    person, callback = data.draw(someone_elses_client_button(world))
    outcome = await world.press(person, callback)
    check_refused(outcome)


@hs.budget(40)
@given(person=NOT_OWNERS, action=hs.owner_action, target=hs.stray_id)
async def test_owner_buttons_pressed_by_clients_and_strangers_change_nothing(
    world: World, person: int, action: str, target: int
) -> None:
    await world.restore()
    check_refused(await world.press(person, f"o:{action}:{target}"))


@hs.budget(40)
@given(data=st.data())
async def test_another_owner_cannot_touch_these_clients_and_invoices(
    world: World, data: st.DataObject
) -> None:
    """Owner B has client Zeta and invoice #1; everything else belongs to owner A."""
    await world.restore()
    zeta = world.client_ids["Zeta"]
    others = sorted(i for i in world.client_ids.values() if i != zeta)
    callback = data.draw(
        st.one_of(
            st.tuples(st.sampled_from(ON_CLIENTS), st.sampled_from(others)),
            st.tuples(st.sampled_from(ON_INVOICES), st.integers(min_value=2, max_value=12)),
            st.tuples(st.just("sendletter"), hs.stray_id),
        ).map(lambda pair: f"o:{pair[0]}:{pair[1]}")
    )
    outcome = await world.press(OTHER_OWNER_ID, callback)
    check_refused(outcome)


@hs.budget(30)
@given(
    person=EVERYONE,
    side_action=st.one_of(
        hs.client_action.map(lambda a: f"c:{a}"), hs.owner_action.map(lambda a: f"o:{a}")
    ),
    target=hs.huge_id,
)
async def test_ids_no_column_can_hold_change_nothing(
    world: World, person: int, side_action: str, target: int
) -> None:
    await world.restore()
    data = f"{side_action}:{target}"
    if len(data.encode()) > 64:
        data = data[:64]
    check_refused(await world.press(person, data))


@hs.budget(60)
@given(data=st.data())
async def test_any_well_formed_button_from_anyone_gets_a_sane_answer(
    world: World, data: st.DataObject
) -> None:
    await world.restore()
    person = data.draw(EVERYONE)
    real = sorted({*world.invoice_ids.values(), world.other_invoice_id})
    if data.draw(st.booleans()):
        action = data.draw(st.sampled_from(CLIENT_ACTIONS))
        target = data.draw(st.one_of(st.sampled_from(real), hs.stray_id))
        callback = f"c:{action}:{target}"
    else:
        action = data.draw(st.sampled_from(OWNER_ACTIONS))
        target = data.draw(st.one_of(st.integers(min_value=0, max_value=12), hs.stray_id))
        callback = f"o:{action}:{target}"
    check_all(await world.press(person, callback[:64]))
