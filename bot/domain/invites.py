"""Invite tokens: random, single-use, short enough for a Telegram deep link."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

INVITE_LIFETIME = timedelta(days=30)
# 24 random bytes = 192 bits, 32 URL-safe characters: inside the 64-character
# deep-link payload and made only of the characters Telegram allows there.
_TOKEN_BYTES = 24
MAX_PAYLOAD = 64


def new_invite_token() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


def looks_like_token(text: str) -> bool:
    return 0 < len(text) <= MAX_PAYLOAD and all(c.isalnum() or c in "-_" for c in text)


class InviteState(StrEnum):
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"


def invite_state(expires_at: datetime, used_at: datetime | None, now: datetime) -> InviteState:
    if used_at is not None:
        return InviteState.USED
    if now >= expires_at:
        return InviteState.EXPIRED
    return InviteState.VALID
