"""Pure rules: no I/O, no Telegram, no database."""
