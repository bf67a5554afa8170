"""Client names as owners type them."""

from __future__ import annotations

MAX_NAME_LENGTH = 100


class InvalidName(ValueError):
    """A client name that cannot be stored."""


def clean_name(raw: str) -> str:
    """Collapse white space; refuse empty, over-long or control-character names."""
    name = " ".join(raw.split())
    if not name:
        raise InvalidName("empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName("too long")
    if any(not ch.isprintable() for ch in name):
        raise InvalidName("unprintable")
    return name


def name_key(name: str) -> str:
    """The form names are compared in: case- and space-insensitive."""
    return " ".join(name.split()).casefold()
