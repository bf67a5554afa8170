"""How every benchmark reports: a short table for people, one JSON line for machines.

A figure that misses its target is printed with MISSED next to it, never hidden; a
script exits non-zero only when it crashes.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / ".data" / "results"
OK, MISSED = "ok", "MISSED"


def verdict(ok: bool | None) -> str:
    if ok is None:
        return ""
    return OK if ok else MISSED


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [title]
    for index, row in enumerate(cells):
        lines.append(
            "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        )
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN: not measured
            return "-"
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1m": round(load[0], 2),
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def emit(bench: str, payload: dict[str, Any], human: str) -> None:
    """Print the table and the JSON line; keep the JSON for the summary and the baseline."""
    record = {"bench": bench, **payload, "machine": machine()}
    print(human, flush=True)
    print(json.dumps(record, sort_keys=True, default=str), flush=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{bench}.json").write_text(json.dumps(record, default=str, indent=1))


def load(bench: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{bench}.json"
    if not path.exists():
        return None
    loaded = json.loads(path.read_text())
    return loaded if isinstance(loaded, dict) else None
