"""Who is answered where: strangers cost little, groups hear nothing of an owner's books.

Runs before every acting handler (after the redelivery and edit checks), for messages:

- In a group, nothing is acted on but `/start <token>` from a `startgroup` link (which
  links the group as a client's contact) and a text replying to one of the bot's own
  messages (an answer the bot asked a member for: handlers.pending takes it only from
  that member, as a reply to their prompt): an owner's command would show their clients
  to the whole group. An owner who types a command there gets one pointer to the private
  chat an hour; everything else is dropped in silence. (Button presses are no messages:
  handlers.buttons checks who pressed.)
- In a private chat, owners and linked clients go on as before. A stranger (neither) is
  answered at most once an hour, whatever they send (a text, a file, a sticker: each
  takes the hour's turn, answered or not); the rest is dropped, so a flood costs no share
  of the ~30 messages a second that reminders are paced by. `/start <token>` always
  reaches the invite, since opening one is how a stranger becomes a client; a bad
  token's answer counts as the hour's reply.

When someone was last answered lives in their user_data, which the application keeps in
the database and reads afresh for every update (bot.telegram.persistence): it holds across
replicas and restarts without a table of its own, and is written only when a reply is
given (once an hour at most). Two messages of one stranger handled at the same moment by
two replicas may both be answered: a rare second reply, not a cost a flood can drive.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, TypeHandler

from handlers.common import AnyApplication, Context, reply, services, silenced, take_turn

# After handlers.updates (-100) and handlers.ignored (-50), before every other handler.
GROUP = -40
# user_data key: when this owner was last pointed away from a group, as POSIX seconds
# (a stranger's: handlers.common.STRANGER_ANSWERED).
GROUP_POINTER = "group_pointer_at"


def _is_invite(text: str) -> bool:
    """`/start <token>`; in a group, Telegram writes it `/start@<bot> <token>`."""
    command, _, argument = text.partition(" ")
    return command.partition("@")[0] == "/start" and bool(argument.strip())


def _replies_to_the_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    text = message.text or ""
    return (
        bool(text)
        and not text.startswith("/")
        and replied is not None
        and replied.from_user is not None
        and replied.from_user.id == bot_id
    )


async def screen(update: Update, context: Context) -> None:
    message, chat, user = update.message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return  # presses, payments and the like: their handlers check who is asking
    if chat.type != ChatType.PRIVATE:  # nothing, not even an owner's file, acts in a group
        if _is_invite(message.text or ""):
            return  # a `startgroup` link: the group becomes a client's contact
        if _replies_to_the_bot(message, context.bot.id):
            return  # perhaps an answer the bot asked for (handlers.pending decides)
        if message.migrate_to_chat_id is not None:  # a group became a supergroup
            await services(context).contacts.chat_moved(chat.id, message.migrate_to_chat_id)
            raise ApplicationHandlerStop
        command = (message.text or "").startswith("/")
        if command and services(context).owners.is_owner(user.id):
            await _point_to_private_chat(update, context)
        raise ApplicationHandlerStop
    if message.successful_payment is not None:
        return  # money that arrived is always recorded (handlers.payments)
    if _is_invite(message.text or ""):
        return  # see handlers.client: a bad token is answered as silenced() says
    if await silenced(update, context):
        raise ApplicationHandlerStop


async def _point_to_private_chat(update: Update, context: Context) -> None:
    """An owner's command in a group: one pointer an hour, in their language."""
    user = update.effective_user
    assert user is not None
    if take_turn(context, GROUP_POINTER):
        owner = await services(context).owners.ensure(user.id, user.full_name)
        await reply(update, "owner/private_only", owner.locale)


def register(app: AnyApplication) -> None:
    app.add_handler(TypeHandler(Update, screen), group=GROUP)
