"""`duebot preview` prints the schedule and the rendered messages, sending nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_preview_of_a_hypothetical_invoice_prints_every_stage(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "OWNER", "DATABASE"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN="123:PREVIEW-TOKEN",
        OWNER_IDS="1",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        DEFAULT_TIMEZONE="Europe/Warsaw",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "preview", "--amount", "1200", "--due", "2026-12-04"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    headers = [line for line in result.stdout.splitlines() if line.startswith("=== ")]
    # The new-invoice notice goes when the invoice is created: now, for a hypothetical one.
    assert headers[0].startswith("=== notice — ")
    assert "here is a new invoice from" in result.stdout
    assert headers[1:] == [
        "=== heads_up — 2026-12-01 09:00 CET",
        "=== due — 2026-12-04 09:00 CET",
        "=== overdue_1 — 2026-12-07 09:00 CET",
        "=== weekly_1 — 2026-12-11 09:00 CET",
        "=== weekly_2 — 2026-12-18 09:00 CET",
        "=== weekly_3 — 2026-12-25 09:00 CET",
        "=== firm — 2027-01-04 09:00 CET",
        "=== formal — 2027-02-02 09:00 CET",
        "=== final — 2027-03-04 09:00 CET",
    ]
    assert "Final notice" in result.stdout
    assert "123:PREVIEW-TOKEN" not in result.stdout + result.stderr


def test_preview_in_portuguese_has_no_english_stand_ins(tmp_path: Path) -> None:
    """The stand-in client, business and description are in the preview's language too."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "OWNER", "DATABASE"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN="123:PREVIEW-TOKEN",
        OWNER_IDS="1",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        DEFAULT_LOCALE="pt",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "preview", "--amount", "1200", "--due", "2026-12-04"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "(Fatura de exemplo)" in result.stdout
    assert "Sua empresa" in result.stdout
    for english in ("Your business", "Example invoice", "Client,"):
        assert english not in result.stdout
