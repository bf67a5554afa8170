"""Refusals: the action was not done, and why, for the person who asked."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """Raised before anything is written; `code` picks the sentence, `details` fill it in."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details
