"""Adapters to Telegram: the notifier (429 / 403 into outcomes), the pacer that keeps the
bot under Telegram's limits, and the conversation state PTB keeps in the database."""
