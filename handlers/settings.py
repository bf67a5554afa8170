"""/settings: a button menu, and a one-line form for each field
(`/settings timezone Europe/Warsaw`); plus a client's own language and time zone."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.services.cardpay import payment_ways
from bot.services.errors import Refused
from bot.services.settings import FIELDS, MONEY_FIELDS
from handlers.commands import publish_owner_commands
from handlers.common import (
    AWAITING,
    AnyApplication,
    Awaiting,
    Context,
    answers_text,
    clipped,
    owner_context,
    owner_press,
    refuse,
    reply,
    services,
    set_awaiting,
    stage_names,
)
from messages.callbacks import SETTINGS_ACTIONS, owner_callback, pattern
from messages.render import plain

ALIASES = {
    "fee": "latefee",
    "discount": "earlydiscount",
    "holiday": "holidays",
    "law": "country",  # i13c: `country` is the law's country (SPEC §3), not the holidays'
    "lang": "language",
    "locale": "language",
    "tz": "timezone",
    "link": "paylink",
    "payinfo": "instructions",
    "business": "name",
    "window": "hours",
}
LOCALES = ("en", "pt", "ru", "pl")
LAW_FIELDS = ("country", "compensation")  # i13c: the law of the owner's country


def menu(locale: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            plain("buttons/setting", locale, field=field),
            callback_data=owner_callback(f"set{field}", 0),
        )
        for field in (*FIELDS, *MONEY_FIELDS, *LAW_FIELDS, "iban", "ladder")
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def language_choices(locale: str, action_prefix: str, target: int) -> InlineKeyboardMarkup:
    row = [
        InlineKeyboardButton(
            plain("buttons/language", locale, code=code),
            callback_data=owner_callback(f"{action_prefix}{code}", target),
        )
        for code in LOCALES
    ]
    return InlineKeyboardMarkup([row])


async def settings_command(update: Update, context: Context) -> None:
    user_id, display, locale = await owner_context(update, context)
    args = list(context.args or [])
    if not args:
        view = await services(context).settings.show(user_id, display)
        names = stage_names(locale)
        ways = payment_ways(services(context).deps.settings)
        await reply(
            update,
            "owner/settings",
            locale,
            menu(locale),
            settings=view,
            stage_names=names,
            ways=ways,
        )
        return
    field = ALIASES.get(args[0].lower(), args[0].lower())
    if field == "ladder":
        await ladder(update, context, args[1:])
        return
    if field in MONEY_FIELDS:
        await apply_money(update, context, field, " ".join(args[1:]))
        return
    if field in LAW_FIELDS:
        await apply_law(update, context, field, " ".join(args[1:]))
        return
    await apply(update, context, field, " ".join(args[1:]))


async def apply_money(update: Update, context: Context, field: str, value: str) -> None:
    user_id, display, locale = await owner_context(update, context)
    try:
        view = await services(context).settings.change_money(user_id, display, field, value)
    except Refused as refusal:
        await refuse(update, locale, refusal, "settings")
        return
    names = stage_names(locale)
    if field == "interest" and view.interest_statutory:  # i13c
        await reply(update, "law/saved", locale, field=field, settings=view, stage_names=names)
        return
    await reply(
        update, "owner/settings_saved", locale, field=field, settings=view, stage_names=names
    )


async def apply_law(update: Update, context: Context, field: str, value: str) -> None:
    """i13c: `/settings country PL`, `/settings compensation on`."""
    user_id, display, locale = await owner_context(update, context)
    try:
        view = await services(context).settings.change_law(user_id, display, field, value)
    except Refused as refusal:
        await refuse(update, locale, refusal, "settings")
        return
    names = stage_names(locale)
    await reply(update, "law/saved", locale, field=field, settings=view, stage_names=names)


async def ladder(update: Update, context: Context, words: list[str]) -> None:
    user_id, display, locale = await owner_context(update, context)
    try:
        if words:
            view = await services(context).settings.edit_ladder(user_id, display, words)
        else:
            view = await services(context).settings.show(user_id, display)
    except Refused as refusal:
        await refuse(update, locale, refusal, "settings")
        return
    names = stage_names(locale)
    await reply(
        update, "owner/ladder", locale, settings=view, changed=bool(words), stage_names=names
    )


async def apply(update: Update, context: Context, field: str, value: str) -> None:
    if field == "iban":  # bank transfers (issue 16): handlers.bank owns it
        await set_iban(update, context, value)
        return
    user_id, display, locale = await owner_context(update, context)
    try:
        view = await services(context).settings.change(user_id, display, field, value)
    except Refused as refusal:
        await refuse(update, locale, refusal, "settings")
        return
    # The reply speaks the new language when that is what changed, and so does the menu.
    await reply(update, "owner/settings_saved", view.locale, field=field, settings=view)
    if field == "language" and update.effective_user is not None:
        await publish_owner_commands(context.bot, update.effective_user.id, view.locale)


async def settings_button(update: Update, context: Context, action: str, target: int) -> None:
    """Buttons of the /settings menu and of a client card's language / time zone."""
    assert context.user_data is not None
    _, _, locale = await owner_context(update, context)
    if action == "setlanguage":
        await reply(
            update,
            "owner/settings_ask",
            locale,
            language_choices(locale, "lang", 0),
            field="language",
        )
    elif action == "setladder":
        await ladder(update, context, [])
    elif action.startswith("set") and action[3:] in LAW_FIELDS:  # i13c
        context.user_data[AWAITING] = Awaiting("law_setting", 0, action[3:])
        await reply(update, "law/ask", locale, field=action[3:])
    elif action.startswith("set"):
        kind = "money_setting" if action[3:] in MONEY_FIELDS else "setting"
        context.user_data[AWAITING] = Awaiting(kind, 0, action[3:])
        await reply(update, "owner/settings_ask", locale, field=action[3:])
    elif action.startswith("lang"):
        await apply(update, context, "language", action[4:])
    elif action == "clang":
        await reply(
            update,
            "owner/settings_ask",
            locale,
            language_choices(locale, "cl", target),
            field="client_language",
        )
    elif action == "ctz":
        context.user_data[AWAITING] = Awaiting("client_timezone", target)
        await reply(update, "owner/settings_ask", locale, field="client_timezone")
    elif action.startswith("cl"):
        code = action[2:]
        await apply_client(
            update, context, target, "language", "default" if code == "def" else code
        )


async def apply_client(
    update: Update, context: Context, client_id: int, field: str, value: str
) -> None:
    user_id, display, locale = await owner_context(update, context)
    try:
        client = await services(context).settings.change_client(
            user_id, display, client_id, field, value
        )
    except Refused as refusal:
        await refuse(update, locale, refusal, "settings")
        return
    await reply(update, "owner/client_setting_saved", locale, field=field, client=client)


async def set_iban(update: Update, context: Context, value: str) -> None:
    """`/settings iban <IBAN> [BIC] <account holder>` (or `none`); also the menu's answer."""
    user_id, display, locale = await owner_context(update, context)
    try:
        account = await services(context).bank.set_account(user_id, display, value.split())
    except Refused as refusal:
        details = {key: clipped(value) for key, value in refusal.details.items()}
        await reply(update, "owner/bank/refused", locale, code=refusal.code, **details)
        return
    await reply(update, "owner/bank/iban_saved", locale, account=account)


async def _settings_press(
    update: Update, context: Context, action: str, target: int, who: tuple[int, str, str]
) -> None:
    await settings_button(update, context, action, target)


async def setting_answer(update: Update, context: Context, awaiting: Awaiting, text: str) -> None:
    """A value typed after a /settings button (or a client card's time zone)."""
    set_awaiting(context, None)
    if awaiting.kind == "setting":
        await apply(update, context, awaiting.reason, text)
    elif awaiting.kind == "money_setting":
        await apply_money(update, context, awaiting.reason, text)
    elif awaiting.kind == "law_setting":
        await apply_law(update, context, awaiting.reason, text)
    else:
        await apply_client(update, context, awaiting.target, "timezone", text)


def register(app: AnyApplication, is_owner: filters.BaseFilter) -> None:
    app.add_handler(
        CallbackQueryHandler(owner_press(_settings_press), pattern=pattern("o", SETTINGS_ACTIONS))
    )
    answers_text(("setting", "money_setting", "law_setting", "client_timezone"), setting_answer)
    app.add_handler(CommandHandler("settings", settings_command, filters=is_owner))
