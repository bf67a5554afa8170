"""The `duebot` subcommands (see bot/__main__.py): run, migrate, preview, export, doctor, backup."""
