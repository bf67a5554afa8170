"""Adapters to outside systems other than Telegram (which has bot.telegram)."""
