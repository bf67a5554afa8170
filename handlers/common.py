"""What every handler needs: the services, the sender's locale, a reply, the owner's
context, refusals in one sentence, what the bot awaits from someone, and the routing of
typed answers. Handlers import this module and never one another."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from telegram import ForceReply, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.config import SUPPORTED_LOCALES
from bot.domain.text import one_line
from bot.services import Services
from bot.services.decisions import Decided
from bot.services.errors import Refused
from bot.services.views import NewInvoice, User
from bot.telegram.alerts import in_owner_words
from messages import render
from messages.callbacks import parse_callback
from messages.keyboards import owner_buttons
from messages.render import fragment

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's context, with the owner the update comes from resolved once at the edge
    (handlers.edge, before every other handler), so handlers do not look them up again."""

    def __init__(
        self, application: AnyApplication, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.owner_locale: str | None = None  # the owner's language, once resolved


Context = BotContext
CONTEXT_TYPES = ContextTypes(context=BotContext)

SERVICES_KEY = "services"


def services(context: Context) -> Services:
    found = context.application.bot_data[SERVICES_KEY]
    assert isinstance(found, Services)
    return found


def sender_locale(update: Update, context: Context) -> str:
    """Someone we have no record for is answered in their Telegram language if we speak it."""
    user = update.effective_user
    code = (user.language_code or "").split("-")[0].lower() if user else ""
    if code in SUPPORTED_LOCALES:
        return code
    return services(context).deps.settings.default_locale


async def reply(
    update: Update,
    template: str,
    locale: str,
    keyboard: InlineKeyboardMarkup | None = None,
    /,
    *,
    link_preview: bool = False,
    **data: Any,
) -> Message | None:
    return await reply_text(
        update, render(template, locale, **data), keyboard, link_preview=link_preview
    )


async def reply_text(
    update: Update,
    text: str,
    keyboard: InlineKeyboardMarkup | ForceReply | None = None,
    *,
    link_preview: bool = False,
) -> Message | None:
    message = update.effective_message
    if message is None:
        return None
    return await message.reply_text(
        text,
        reply_markup=keyboard,
        link_preview_options=LinkPreviewOptions(is_disabled=not link_preview),
    )


def display_name(update: Update) -> str:
    user = update.effective_user
    return user.full_name if user else ""


def presser(update: Update) -> User:
    """Who pressed a client's button (or typed an answer): their id and first name."""
    user = update.effective_user
    return User(user.id, user.first_name) if user else User(0)


# --- the owner's side ----------------------------------------------------------------
OwnerAction = Callable[[Update, Context, int, str, str], Awaitable[None]]


class StageNames(dict[str, str]):
    """Stage name → its label in the owner's language, for any stage a ladder may hold."""

    def __init__(self, locale: str) -> None:
        super().__init__()
        self.locale = locale

    def __missing__(self, stage: str) -> str:
        label = render("owner/stage_name", self.locale, stage=stage)
        self[stage] = label
        return label


def stage_names(locale: str) -> dict[str, str]:
    return StageNames(locale)


def status_name(status: str, locale: str) -> str:
    return render("owner/status_name", locale, status=status)


async def owner_context(update: Update, context: Context) -> tuple[int, str, str]:
    """The owner's id, name and language: resolved at the edge, or here the first time."""
    user = update.effective_user
    assert user is not None
    if context.owner_locale is None:
        await resolve_owner(user.id, user.full_name, context)
    assert context.owner_locale is not None
    return user.id, user.full_name, context.owner_locale


async def resolve_owner(user_id: int, display: str, context: Context) -> None:
    owner = await services(context).owners.ensure(user_id, display)
    context.owner_locale = owner.locale


def guarded(
    command: str, action: OwnerAction
) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """Run an owner action; any refusal is answered with its one clear sentence."""

    async def handler(update: Update, context: Context) -> None:
        user_id, display, locale = await owner_context(update, context)
        try:
            await action(update, context, user_id, display, locale)
        except Refused as refusal:
            await refuse(update, locale, refusal, command)

    return handler


# Refusals quote what was typed: on one line, without control characters, and clipped,
# so the sentence stays readable and inside Telegram's 4096 characters whatever was sent.
# Client names fit (100 characters at most).
MAX_QUOTE = 100


def clipped(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = one_line(value)
    return value if len(value) <= MAX_QUOTE else value[: MAX_QUOTE - 1] + "…"


async def refuse(update: Update, locale: str, refusal: Refused, command: str) -> None:
    details = {
        key: clipped(in_owner_words(value, locale)) for key, value in refusal.details.items()
    }
    data: dict[str, Any] = {"given": "", "command": command, **details}
    if data.get("status"):
        data["status_label"] = status_name(str(data["status"]), locale)
    await reply(update, "owner/refused", locale, code=refusal.code, **data)


async def reply_decided(update: Update, locale: str, decided: Decided) -> None:
    data: dict[str, Any] = {
        **decided.data,
        "decision": decided.decision,
        "number": decided.number,
        "client_name": decided.client_name,
    }
    await reply(update, "owner/decided", locale, **data)


def first_arg(context: Context, command: str) -> str:
    if not context.args:
        raise Refused("missing_number", command=command)
    return context.args[0]


async def edit_keyboard(update: Update, keyboard: InlineKeyboardMarkup | None) -> None:
    """Show a choice made by replacing the pressed message's buttons."""
    query = update.callback_query
    assert query is not None
    # A message too old to edit, or one already showing this, leaves the answer standing.
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(keyboard)


OwnerPress = Callable[[Update, Context, str, int, tuple[int, str, str]], Awaitable[None]]


def owner_press(press: OwnerPress) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """A family of owner buttons (routed by pattern on `o:<action>:<target>`): checked to
    come from an owner, answered at once, refusals in one sentence."""

    async def handler(update: Update, context: Context) -> None:
        query, user = update.callback_query, update.effective_user
        assert query is not None
        callback = parse_callback(query.data)
        if callback is None or user is None or update.effective_chat is None:
            await query.answer(render("client/stale", sender_locale(update, context)))
            return
        if not services(context).owners.is_owner(user.id):
            await query.answer(render("client/not_yours", sender_locale(update, context)))
            return
        await query.answer()
        who = await owner_context(update, context)
        try:
            await press(update, context, callback.action, callback.target, who)
        except Refused as refusal:
            await refuse(update, who[2], refusal, callback.action)

    return handler


# --- what the bot awaits from someone -------------------------------------------------
AWAITING = "awaiting"


@dataclass(frozen=True)
class Awaiting:
    kind: str  # promise_date, dispute_details, adjust_amount
    target: int  # invoice id (client side) or invoice number (owner side)
    reason: str = ""
    # In a group: the bot's prompts whose replies are the answer (the first question and
    # the latest "please try again"); in a private chat the next text is, so none.
    prompts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # Kept as JSON (bot.telegram.persistence), the tuple comes back a list.
        object.__setattr__(self, "prompts", tuple(self.prompts))


def awaiting_key(update: Update) -> str:
    """Where in the person's user_data their awaited answer in this chat is kept: a
    private chat's under AWAITING, as ever; each group's apart, so a member may be asked
    in a group and in their private chat at once without one answer taking the other's
    place (user_data is the person's: the key adds the chat)."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return AWAITING
    return f"{AWAITING}:{chat.id}"


def set_awaiting(context: Context, awaiting: Awaiting | None, key: str = AWAITING) -> None:
    assert context.user_data is not None
    if awaiting is None:
        context.user_data.pop(key, None)
    else:
        context.user_data[key] = awaiting


async def ask(
    update: Update, context: Context, awaiting: Awaiting, template: str, locale: str, **data: Any
) -> None:
    """Ask the presser of a client's button to type an answer (handlers.pending takes it).

    In a private chat, as ever: the question, and their next text is the answer. In a
    group, a bot in privacy mode sees only replies to its own messages, and the group
    must not be asked by everyone: the question mentions the presser and asks for a reply
    that only they are prompted to give (ForceReply, selective); their reply to it is the
    answer, anything else in the group is not.
    """
    key = awaiting_key(update)
    set_awaiting(context, awaiting, key)  # on record before anyone can see the question
    user = update.effective_user
    if key == AWAITING or user is None:
        await reply(update, template, locale, **data)
        return
    question = fragment(template, locale, **data)
    text = render(
        "client/group_ask", locale, user_id=user.id, name=user.first_name, question=question
    )
    prompt = await reply_text(update, text, ForceReply(selective=True))
    if prompt is not None:
        set_awaiting(context, replace(awaiting, prompts=(prompt.message_id,)), key)


async def ask_again(
    update: Update, context: Context, awaiting: Awaiting, key: str, template: str, locale: str
) -> None:
    """A typed answer that cannot be taken (an unreadable date): one sentence, and the
    question stays open. In a group the sentence replies to the presser's message, so it
    prompts them alone, and a reply to it is an answer as well as one to the question."""
    if key == AWAITING:
        await reply(update, template, locale)
        return
    prompt = await reply_text(update, render(template, locale), ForceReply(selective=True))
    if prompt is not None:
        prompts = (*awaiting.prompts[:1], prompt.message_id)  # the question, the latest retry
        set_awaiting(context, replace(awaiting, prompts=prompts), key)


# A typed answer goes to the handler that asked for it: each registers the kinds it asks
# for (handlers.pending routes the text). Filled once, when the handlers are registered.
TextAnswer = Callable[[Update, Context, Awaiting, str], Awaitable[None]]
TEXT_ANSWERS: dict[str, TextAnswer] = {}
# Asked before any awaited answer: whether a step-by-step dialog took the text.
TextTaker = Callable[[Update, Context], Awaitable[bool]]
TEXT_TAKERS: list[TextTaker] = []


def answers_text(kinds: tuple[str, ...], answer: TextAnswer) -> None:
    for kind in kinds:
        TEXT_ANSWERS[kind] = answer


def takes_text(taker: TextTaker) -> None:
    if taker not in TEXT_TAKERS:
        TEXT_TAKERS.append(taker)


# A document an owner sends: each reader that knows its kind registers here (a bank
# statement: handlers.bank); anything else is read as clients and invoices (handlers.csv_files).
DocumentReader = Callable[[Update, Context, bytes, tuple[int, str, str]], Awaitable[None]]
DOCUMENT_READERS: list[tuple[Callable[[bytes], bool], DocumentReader]] = []


def reads_documents(accepts: Callable[[bytes], bool], reader: DocumentReader) -> None:
    if (accepts, reader) not in DOCUMENT_READERS:
        DOCUMENT_READERS.append((accepts, reader))


async def answer_refused(update: Update, context: Context, refusal: Refused) -> None:
    """A client's press refused: in one line on the button (an alert for a promise)."""
    query = update.callback_query
    assert query is not None
    locale = sender_locale(update, context)
    if refusal.code in ("not_yours", "not_contact", "stale"):
        text = render(f"client/{refusal.code}", locale)
    else:
        text = render("client/state", locale, status=refusal.code[6:])
    await query.answer(text, show_alert=refusal.code.startswith("promise"))


async def reply_created(update: Update, created: NewInvoice, locale: str) -> None:
    await reply(
        update,
        "owner/invoice_created",
        locale,
        owner_buttons(locale, ("card", created.invoice.number)),
        invoice=created.invoice,
        plan=created.plan,
        timezone=created.timezone,
        stage_names=stage_names(locale),
        upfront=created.upfront,
        notice=created.notice,
        document_name=created.document_name,
    )


# --- strangers ---------------------------------------------------------------------------
REPLY_EVERY = timedelta(hours=1)
# user_data key: when this person was last answered as a stranger, as POSIX seconds.
STRANGER_ANSWERED = "stranger_answered_at"


async def silenced(update: Update, context: Context) -> bool:
    """Whether the sender of this private message is a stranger already answered within
    the hour (if not, and a stranger, this answer is the hour's one)."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    if services(context).owners.is_owner(user.id):
        return False
    if await services(context).clients.is_client_chat(chat.id):
        return False
    return not take_turn(context, STRANGER_ANSWERED)


def take_turn(context: Context, key: str) -> bool:
    """True (and noted) if this person was not answered under `key` within the hour."""
    assert context.user_data is not None
    now = services(context).deps.clock.now().timestamp()
    last = context.user_data.get(key)
    if isinstance(last, int | float) and now - last < REPLY_EVERY.total_seconds():
        return False
    context.user_data[key] = now
    return True
