"""One life of the bot for the crash tests, run in its own process:

    python -m tests.e2e.crash_runner STEPS_JSON [--die-at POINT --die-chat CHAT_ID]

It builds the real Application (`bot.app.build_application`) from the environment, as
`duebot run` does (TELEGRAM_BASE_URL points at the test's HTTP fake Bot API, DATABASE_URL
at the test's database), with a frozen clock, and runs the steps in order:

    {"at": "2026-11-24T10:00:00+00:00", "tick": true}
    {"at": "...", "user": 111, "update_id": 7, "text": "/newinvoice Acme 100 2026-11-24"}

After each step the alert courier runs as its job would (claims a crash left `sending`
older than STUCK_AFTER become `unknown`, then what is pending is sent), so a step's owner
alerts are out before the next step. A text step with `"armed": true` arms the kill
points for the update and its alerts (a tick arms them always).

In a text, `{invite}` stands for the newest invite token, the one the owner was just sent.
After each step it prints one JSON line, `{"done": <n>, "outbox": [[invoice_id, stage,
status], …]}`, so the test knows how far a life got and what the outbox held then.

With `--die-at`, the process kills itself with SIGKILL at one point of a tick's send to
`--die-chat`, by wrapping the engine's own seams (the product has no test hooks):
  claim        inside the claim's transaction, after the stages were taken, before commit
  before_send  the claim is committed; Notifier.send is entered, Telegram not called yet
  after_send   Telegram answered; Notifier.send has not returned, nothing is recorded
  alert_claim  an owner alert is committed with its change; the courier is about to claim it
(before_send / after_send with `--die-chat` the owner's chat kill an owner alert's send.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update

from bot.app import build_application, close_application, services_of
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.db.tables import Invite, Reminder
from bot.domain.delivery import Delivery
from bot.logs import configure_logging
from bot.services.alert_outbox import CLAIM_MOST, AlertQueue, ClaimedAlert
from bot.services.outbox import ClientBatch, ReminderOutbox
from bot.telegram.notifier import Notifier
from scheduler import alert_courier, run_tick
from tests.fakes.updates import message_update

DIE_POINTS = ("claim", "before_send", "after_send", "alert_claim")


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class Hooks:
    """Kill points armed only while a tick runs, so setup steps never trip them."""

    def __init__(self, point: str | None, chat_id: int | None) -> None:
        self.point, self.chat_id, self.armed = point, chat_id, False

    def fires(self, point: str, chat_id: int | None) -> bool:
        return self.armed and self.point == point and chat_id == self.chat_id

    def install(self) -> None:
        claim, send, claim_alerts = ReminderOutbox.claim_clients, Notifier.send, AlertQueue.claim
        hooks = self

        async def die_then_claim_alerts(
            queue: AlertQueue, now: datetime, most: int = CLAIM_MOST
        ) -> list[ClaimedAlert]:
            if hooks.armed and hooks.point == "alert_claim":
                die()
            return await claim_alerts(queue, now, most)

        async def claim_then_die(
            outbox: ReminderOutbox, session: AsyncSession, client_ids: Sequence[int], now: datetime
        ) -> list[ClientBatch]:
            batches = await claim(outbox, session, client_ids, now)
            if any(b.claims and hooks.fires("claim", b.client.chat_id) for b in batches):
                await session.flush()  # the claims are written, inside the open transaction
                die()
            return batches

        async def send_around(
            notifier: Notifier,
            chat_id: int,
            text: str,
            keyboard: InlineKeyboardMarkup | None = None,
        ) -> Delivery:
            if hooks.fires("before_send", chat_id):
                die()
            delivery = await send(notifier, chat_id, text, keyboard)
            if hooks.fires("after_send", chat_id):
                die()
            return delivery

        ReminderOutbox.claim_clients = claim_then_die  # type: ignore[method-assign,assignment]
        Notifier.send = send_around  # type: ignore[method-assign,assignment]
        AlertQueue.claim = die_then_claim_alerts  # type: ignore[method-assign,assignment]


async def newest_invite(app: Any) -> str:
    async with services_of(app).deps.sessions() as session:
        token = (
            await session.exec(select(Invite.token).order_by(col(Invite.id).desc()).limit(1))
        ).first()
    assert token is not None, "no invite has been made yet"
    return token


async def outbox(app: Any) -> list[tuple[int, str, str]]:
    async with services_of(app).deps.sessions() as session:
        rows = (await session.exec(select(Reminder).order_by(col(Reminder.id)))).all()
    return [(row.invoice_id, row.stage, row.status) for row in rows]


async def run_steps(steps: list[dict[str, Any]], hooks: Hooks, out: Callable[[str], None]) -> None:
    settings = load_settings(_env_file=None)
    configure_logging(settings.log_level, settings.telegram_bot_token.get_secret_value())
    clock = FrozenClock(datetime.fromisoformat(steps[0]["at"]))
    app = build_application(settings, clock)
    async with app:
        for number, step in enumerate(steps, 1):
            clock.set(datetime.fromisoformat(step["at"]))
            hooks.armed = bool(step.get("tick") or step.get("armed"))
            if step.get("tick"):
                await run_tick(app)
            else:
                text = str(step["text"])
                if "{invite}" in text:
                    text = text.replace("{invite}", await newest_invite(app))
                update = {**message_update(int(step["user"]), text), "update_id": step["update_id"]}
                await app.process_update(Update.de_json(update, app.bot))
            await alert_courier(app).run_job(wait=True)
            hooks.armed = False
            out(json.dumps({"done": number, "outbox": await outbox(app)}))
    await close_application(app)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crash_runner")
    parser.add_argument("steps", help="a JSON list of steps")
    parser.add_argument("--die-at", choices=DIE_POINTS)
    parser.add_argument("--die-chat", type=int)
    args = parser.parse_args(argv)
    hooks = Hooks(args.die_at, args.die_chat)
    if args.die_at:
        hooks.install()  # otherwise the product runs untouched
    asyncio.run(run_steps(json.loads(args.steps), hooks, lambda line: print(line, flush=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
