"""A small world of owners, clients and invoices in every state, and the means to watch what
one update does to it: the rows before and after, the templates rendered, what was sent,
and any exception that reached the error handlers or was logged as an error.

Hypothesis runs many examples against one Application per test function, so a valid input
that changes the world is undone by writing the recorded rows back (`World.restore`)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import func, select
from sqlmodel import SQLModel
from telegram import Update

from tests.conftest import CLIENT_USER_ID, OTHER_OWNER_ID, OWNER_ID, STRANGER_ID
from tests.fakes import updates
from tests.fakes.bot_api import Call, FakeBotApi
from tests.fakes.updates import message_update
from tests.handlers.engine_helpers import LINK, engine_of
from tests.unit.test_templates import assert_telegram_html


class _Templates(Protocol):
    template_path: Callable[[str, str], str]


# The module, not the `messages.render` function that the package re-exports under its name.
RENDER_MODULE = cast(_Templates, importlib.import_module("messages.render"))
OTHER_CLIENT_ID = 333
# Who presses and types: each role sees the world differently.
PEOPLE = {
    "owner": OWNER_ID,
    "other_owner": OTHER_OWNER_ID,
    "client": CLIENT_USER_ID,
    "other_client": OTHER_CLIENT_ID,
    "stranger": STRANGER_ID,
}
# One row per update id, whatever the update did: bookkeeping, neither compared nor restored.
APPEND_ONLY = frozenset({"processed_updates"})
# PTB's user_data, kept in the database (bot.telegram.persistence): what the bot waits for someone
# to type. Asking a question rightly changes it; restored between examples, not compared.
CONVERSATION = frozenset({"user_states"})

# Templates whose rendering means "I did what you asked": the only updates allowed to
# change rows. Everything else (refusals, hints, cards, lists, menus) must leave them alone.
CHANGES = frozenset(
    {
        "owner/new_client",
        "owner/invoice_created",
        "owner/settings_saved",
        "owner/client_setting_saved",
        "owner/ladder",  # also shown read-only; `/settings ladder` alone changes nothing
        "owner/paid",
        "owner/paused",
        "owner/resumed",
        "owner/closed",
        "owner/reminded",
        "owner/client_switched",
        "owner/decided",
        "client/welcome",
        "client/welcome_back",
        "client/claim_done",
        "client/promise_done",
        "client/plan_done",
        "client/problem_done",
        "owner/csv/import_done",
        "owner/letter_ready",  # the letter is kept, so it can be sent on as issued
        "owner/letter_sent",
        "owner/forget_done",
    }
)
# The one-sentence answers to bad input, wrong people and stale buttons.
REFUSALS = frozenset(
    {
        "owner/refused",
        "owner/newclient_bad_name",
        "owner/newclient_usage",
        "common/not_owner",
        "common/error",
        "client/invite_unknown",
        "client/invite_used",
        "client/invite_expired",
        "client/not_yours",
        "client/stale",
        "client/state",
        "client/promise_past",
        "client/promise_too_far",
        "client/promise_unreadable",
        "owner/csv/import_errors",
    }
)
# Answers that are rightly more than one message (a link plus a text to forward, a list
# split to fit 4096 characters, a report with its chart).
MULTI_MESSAGE = frozenset(
    {
        "owner/new_client",
        "owner/client_line",
        "owner/invoice_line",
        "owner/report",
        "owner/csv/export_intro",
    }
)

MAX_CALLBACK_ANSWER = 200  # Telegram's limit for answerCallbackQuery text
MAX_CAPTION = 1024
MAX_MESSAGE = 4096

Rows = dict[str, list[dict[str, Any]]]


def _tables() -> list[Any]:
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in APPEND_ONLY]


async def snapshot(app: Any) -> Rows:
    """Every row of every table (but the append-only bookkeeping), in primary-key order."""
    found: Rows = {}
    async with engine_of(app).connect() as connection:
        for table in _tables():
            result = await connection.execute(select(table).order_by(*table.primary_key.columns))
            found[table.name] = [dict(row._mapping) for row in result]
    return found


async def write_back(app: Any, rows: Rows) -> None:
    """Make the tables hold exactly `rows` again (children deleted first, parents added first)."""
    engine = engine_of(app)
    async with engine.begin() as connection:
        for table in reversed(_tables()):
            await connection.execute(table.delete())
        for table in _tables():
            if rows[table.name]:
                await connection.execute(table.insert(), rows[table.name])
        if engine.dialect.name == "postgresql":
            # New rows must get ids past the restored ones (an emptied database restarted
            # its sequences at 1).
            for table in _tables():
                if "id" in table.columns:
                    after_last = select(func.coalesce(func.max(table.c.id), 0) + 1)
                    sequence = func.pg_get_serial_sequence(table.name, "id")
                    await connection.execute(
                        select(func.setval(sequence, after_last.scalar_subquery(), False))
                    )


def changed_tables(before: Rows, after: Rows) -> dict[str, tuple[int, int]]:
    """The owner's and clients' data that differ: (rows before, rows after) per table."""
    return {
        name: (len(before[name]), len(after[name]))
        for name in before
        if name not in CONVERSATION and before[name] != after[name]
    }


# --- watching one update ------------------------------------------------------------------


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass(repr=False)  # the rows would drown the failure report; describe() says enough
class Outcome:
    """What one update did."""

    kind: str  # "message", "callback", or "other" (edits, channel posts, group messages)
    sender: int
    calls: list[Call]
    templates: list[str]
    errors: list[BaseException]
    logged: list[str]
    before: Rows
    after: Rows

    @property
    def changed(self) -> dict[str, tuple[int, int]]:
        return changed_tables(self.before, self.after)

    @property
    def replies(self) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method in ("sendMessage", "sendPhoto", "sendDocument") and c.chat_id == self.sender
        ]

    @property
    def did_something(self) -> bool:
        return bool(CHANGES & set(self.templates))

    @property
    def refused(self) -> bool:
        return bool(REFUSALS & set(self.templates))

    def __repr__(self) -> str:
        return f"Outcome({self.describe()})"

    def describe(self) -> str:
        errors = [f"{type(e).__name__}: {str(e)[:200]}" for e in self.errors]
        sent = [(c.method, c.chat_id, c.text[:120]) for c in self.calls]
        return (
            f"templates={self.templates} changed={self.changed} errors={errors} "
            f"logged={self.logged} sent={sent}"
        )


@dataclass
class Watcher:
    """Installed once per test: records templates, errors and error logs per update."""

    templates: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    log: _ErrorLog = field(default_factory=_ErrorLog)

    async def on_error(self, update: object, context: Any) -> None:
        self.errors.append(context.error)

    def reset(self) -> None:
        self.templates.clear()
        self.errors.clear()
        self.log.records.clear()


@contextmanager
def watching(app: Any) -> Iterator[Watcher]:
    watcher = Watcher()
    original = RENDER_MODULE.template_path

    def recording(name: str, locale: str) -> str:
        watcher.templates.append(name)
        return original(name, locale)

    # render() looks template_path up at call time, so every rendered template is seen,
    # whichever handler or service rendered it.
    RENDER_MODULE.template_path = recording
    app.add_error_handler(watcher.on_error)
    root = logging.getLogger()
    root.addHandler(watcher.log)
    try:
        yield watcher
    finally:
        root.removeHandler(watcher.log)
        app.remove_error_handler(watcher.on_error)
        RENDER_MODULE.template_path = original


# --- building updates ------------------------------------------------------------------

# Far from the ids tests/fakes/updates.py hands out: each update is new to the dedupe.
_ids = iter(range(5_000_000, 10**9))


def fresh_update_id() -> int:
    return next(_ids)


def text_update(user_id: int, text_: str) -> dict[str, Any]:
    update = message_update(user_id, text_)
    update["update_id"] = next(_ids)
    return update


def callback_update(user_id: int, data: str) -> dict[str, Any]:
    update = updates.callback_update(next(_ids), user_id, data, language_code="en")
    update["callback_query"]["id"] = f"cb-{next(_ids)}"
    return update


# --- the world --------------------------------------------------------------------------


class World:
    """Owner A (Ann): Acme (linked) with an invoice in every state, Beta Studio (not linked).
    Owner B: Zeta (linked to another client) with one open invoice.

    A plain class, not a dataclass: hypothesis prints dataclass fields in failure reports."""

    def __init__(self, app: Any, bot_api: FakeBotApi, watcher: Watcher) -> None:
        self.app, self.bot_api, self.watcher = app, bot_api, watcher
        self.numbers: dict[str, int] = {}  # owner A's invoice numbers by state
        self.invoice_ids: dict[str, int] = {}  # database ids of owner A's invoices by state
        self.other_invoice_id = 0  # owner B's invoice
        self.client_ids: dict[str, int] = {}
        self.baseline: Rows = {}
        # The rows as the last update or restore left them: nothing else writes in these
        # tests (the application is never started, so no tick runs); saves a read per update.
        self.current: Rows | None = None

    def __repr__(self) -> str:
        return f"World(numbers={self.numbers}, invoice_ids={self.invoice_ids})"

    async def send(self, user_id: int, text_: str) -> Outcome:
        return await self.feed("message", user_id, text_update(user_id, text_))

    async def press(self, user_id: int, data: str) -> Outcome:
        return await self.feed("callback", user_id, callback_update(user_id, data))

    async def document(self, user_id: int, update: dict[str, Any]) -> Outcome:
        update["update_id"] = fresh_update_id()
        return await self.feed("message", user_id, update)

    async def feed(self, kind: str, user_id: int, update: dict[str, Any]) -> Outcome:
        """Any update, as Telegram would send it; `kind` says how it must be answered."""
        before = self.current if self.current is not None else await snapshot(self.app)
        self.bot_api.clear()
        self.watcher.reset()
        await self.app.process_update(Update.de_json(update, self.app.bot))
        self.current = await snapshot(self.app)
        return Outcome(
            kind,
            user_id,
            list(self.bot_api.calls),
            list(self.watcher.templates),
            list(self.watcher.errors),
            [record.getMessage() for record in self.watcher.log.records],
            before,
            self.current,
        )

    async def restore(self) -> None:
        """Back to the world as built, conversations included: the application reads each
        person's user_data afresh from the database for every update."""
        if (
            self.current if self.current is not None else await snapshot(self.app)
        ) != self.baseline:
            await write_back(self.app, self.baseline)
            self.current = self.baseline

    # --- building ---------------------------------------------------------------------
    async def _say(self, user_id: int, text_: str) -> list[Call]:
        outcome = await self.send(user_id, text_)
        assert not outcome.errors, outcome.describe()
        return outcome.calls

    async def _link(self, owner_id: int, name: str, client_user_id: int) -> None:
        calls = await self._say(owner_id, f"/newclient {name}")
        match = LINK.search(calls[0].text)
        assert match, calls[0].text
        await self._say(client_user_id, f"/start {match.group(1)}")

    async def _tap(self, user_id: int, action: str, invoice_id: int) -> None:
        outcome = await self.press(user_id, f"c:{action}:{invoice_id}")
        assert outcome.did_something or action.startswith("r"), outcome.describe()

    async def build(self) -> World:
        """Built through the Application once per database kind; later tests get the same
        rows written straight back, which takes milliseconds instead of seconds."""
        dialect = engine_of(self.app).dialect.name
        if dialect in _BUILT:
            built = _BUILT[dialect]
            self.numbers, self.invoice_ids = built.numbers, built.invoice_ids
            self.other_invoice_id, self.client_ids = built.other_invoice_id, built.client_ids
            self.baseline = built.baseline
            await write_back(self.app, self.baseline)
            self.current = await snapshot(self.app)
            assert self.current == self.baseline
            return self
        await self._build()
        _BUILT[dialect] = _Built(
            self.numbers, self.invoice_ids, self.other_invoice_id, self.client_ids, self.baseline
        )
        return self

    async def _build(self) -> None:
        app = self.app
        await self._say(OWNER_ID, "/start")
        await self._say(OTHER_OWNER_ID, "/start")
        await self._link(OWNER_ID, "Acme", CLIENT_USER_ID)
        await self._say(OWNER_ID, "/newclient Beta Studio")
        await self._link(OTHER_OWNER_ID, "Zeta", OTHER_CLIENT_ID)
        states = {
            "open": "Acme 1200 EUR 2026-12-20 Website",
            "overdue": "Acme 300 2026-11-01 Logo",
            "claimed": "Acme 500 2026-12-01 Hosting",
            "disputed": "Acme 800 2026-12-05 Photos",
            "proposed": "Acme 900 2026-12-10 Copy",
            "promised": "Acme 400 2026-12-12 Flyers",
            "paused": "Acme 100 2026-12-15 Fonts",
            "paid": "Acme 50 2026-12-15 Stickers",
            "unlinked": "Beta 70 2026-12-15 Cards",
        }
        for number, (state, words) in enumerate(states.items(), start=1):
            await self._say(OWNER_ID, f"/newinvoice {words}")
            self.numbers[state] = number
        await self._say(OTHER_OWNER_ID, "/newinvoice Zeta 400 2026-12-20 Other")
        rows = await snapshot(app)
        owners = {o["telegram_user_id"]: o["id"] for o in rows["owners"]}
        for invoice in rows["invoices"]:
            if invoice["owner_id"] == owners[OTHER_OWNER_ID]:
                self.other_invoice_id = invoice["id"]
            else:
                state = next(s for s, n in self.numbers.items() if n == invoice["number"])
                self.invoice_ids[state] = invoice["id"]
        self.client_ids = {c["name"]: c["id"] for c in rows["clients"]}
        ids = self.invoice_ids
        await self._tap(CLIENT_USER_ID, "paid", ids["claimed"])
        await self._tap(CLIENT_USER_ID, "rq", ids["disputed"])
        await self._tap(CLIENT_USER_ID, "sq", ids["disputed"])
        await self._tap(CLIENT_USER_ID, "p3", ids["proposed"])
        await self._tap(CLIENT_USER_ID, "l7", ids["promised"])
        await self._say(OWNER_ID, f"/pause {self.numbers['paused']}")
        await self._say(OWNER_ID, f"/paid {self.numbers['paid']}")
        self.baseline = self.current = await snapshot(app)
        statuses = {i["number"]: i["status"] for i in self.baseline["invoices"]}
        assert statuses[self.numbers["disputed"]] == "disputed", statuses
        assert statuses[self.numbers["paid"]] == "paid", statuses


@dataclass(frozen=True)
class _Built:
    """What a built world is, kept per database kind for the session (without the app)."""

    numbers: dict[str, int]
    invoice_ids: dict[str, int]
    other_invoice_id: int
    client_ids: dict[str, int]
    baseline: Rows


_BUILT: dict[str, _Built] = {}


# --- what every update must look like ----------------------------------------------------


def check_sent(outcome: Outcome) -> None:
    """No exception, nothing logged as an error, and only messages Telegram would accept."""
    assert not outcome.errors, outcome.describe()
    assert not outcome.logged, outcome.describe()
    for call in outcome.calls:
        if call.method in ("sendMessage", "editMessageText"):
            assert call.text.strip(), f"empty message: {outcome.describe()}"
            assert len(call.text) <= MAX_MESSAGE, outcome.describe()
            assert "\x00" not in call.text, f"NUL quoted back: {outcome.describe()}"
            assert_telegram_html(call.text)
        if "caption" in call.params:
            caption = str(call.params["caption"])
            assert len(caption) <= MAX_CAPTION, outcome.describe()
            assert_telegram_html(caption)
        if call.method == "answerCallbackQuery" and call.params.get("text"):
            assert len(str(call.params["text"])) <= MAX_CALLBACK_ANSWER, outcome.describe()
        for button in call.buttons:
            assert str(button["text"]).strip()
            if "callback_data" in button:
                assert len(str(button["callback_data"]).encode()) <= 64


def check_answered_once(outcome: Outcome) -> None:
    """A message gets at most one reply (a few answers are rightly longer); a button press
    is answered exactly once."""
    if outcome.kind == "callback":
        answers = [c for c in outcome.calls if c.method == "answerCallbackQuery"]
        assert len(answers) == 1, outcome.describe()
        assert len(outcome.replies) <= 2, outcome.describe()
    elif not MULTI_MESSAGE & set(outcome.templates):
        assert len(outcome.replies) <= 1, outcome.describe()


def check_state(outcome: Outcome) -> None:
    """Rows change only when the bot says it did what was asked: a refusal, a hint, a card,
    a list or a menu changes nothing."""
    if outcome.changed:
        assert outcome.did_something, f"state changed without success: {outcome.describe()}"


def check_all(outcome: Outcome) -> None:
    check_sent(outcome)
    check_answered_once(outcome)
    check_state(outcome)


def check_refused(outcome: Outcome) -> None:
    """Input built to be invalid: a sane answer (or none, to a command nobody has), and
    nothing changed."""
    check_sent(outcome)
    check_answered_once(outcome)
    assert not outcome.changed, f"invalid input changed rows: {outcome.describe()}"
    assert not outcome.did_something, outcome.describe()
