"""Persistence: tables, engine and sessions, repositories, migrations."""
