"""Free text as people type it, made fit to keep: one line, no control characters."""

from __future__ import annotations

import unicodedata


def one_line(text: str) -> str:
    """White space collapsed and control characters (category Cc) dropped: they are
    invisible, and PostgreSQL refuses NUL in text columns outright."""
    visible = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    return " ".join(visible.split())
