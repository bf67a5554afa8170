"""The run's summary: every target of issue #8 with its figure, ok or MISSED.

Reads what the other scripts of this run left in benchmarks/.data/results/.

    .venv/bin/python -m benchmarks.summary
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks._report import emit, load, table, verdict


def rows() -> list[list[Any]]:
    found: list[list[Any]] = []
    tick = load("tick_cost") or {}
    for r in tick.get("results", []):
        at = f"{r['db']} {r['size']}"
        if r["size"] == "1m":
            found.append(
                [
                    f"idle tick, {at}",
                    f"{r['idle_ms_median']:.1f} ms",
                    "< 10 ms",
                    verdict(r["idle_ok"]),
                ]
            )
        found.append([f"1,000 due, {at}", f"{r['due_s']:.2f} s", "< 1 s", verdict(r["due_ok"])])
    for r in (load("dispatch") or {}).get("results", []):
        found += [
            [
                f"dispatch rate, {r['db']}",
                f"{r['rate_per_s']:.1f} msg/s",
                ">= 27/s",
                verdict(r["rate_ok"]),
            ],
            [f"429s received, {r['db']}", r["refused_429"], "0", verdict(r["no_429_ok"])],
            [f"each chat exactly once, {r['db']}", r["exactly_once"], "yes", verdict(r["once_ok"])],
        ]
    for r in (load("backlog") or {}).get("results", []):
        found += [
            [
                f"1,500 due at once, `duebot run`, {r['db']}",
                f"{r['seconds']:.1f} s ({r['rate_per_s']:.1f} msg/s)",
                "<= 75 s",
                verdict(r["seconds_ok"]),
            ],
            [f"backlog 429s, {r['db']}", r["refused_429"], "0", verdict(r["no_429_ok"])],
            [f"backlog each chat once, {r['db']}", r["exactly_once"], "yes", verdict(r["once_ok"])],
        ]
    for r in (load("press_latency") or {}).get("results", []):
        found += [
            [
                f"press -> answer p99 under a {r['clients']:,} backlog, {r['db']}",
                f"{r['p99_ms']:.0f} ms (p50 {r['p50_ms']:.0f}; {r['rate_per_s']:.1f} msg/s)",
                "< 250 ms",
                verdict(r["p99_ok"]),
            ],
            [f"presses unanswered, {r['db']}", r["unanswered"], "0", verdict(r["answered_ok"])],
        ]
    memory = load("memory_startup") or {}
    for r in memory.get("results", []):
        at = f"{r['db']} {r['size']}"
        found += [
            [f"RSS, {at}", f"{r['rss_peak_mb']:.0f} MB", "< 150 MB", verdict(r["rss_ok"])],
            [f"first poll, {at}", f"{r['start_s']:.2f} s", "< 3 s", verdict(r["start_ok"])],
        ]
    for f in memory.get("flat", []):
        found.append(
            [
                f"flat {f['from']} -> {f['to']}, {f['db']}",
                f"{f['rss_growth_mb']:+.1f} MB, {f['start_growth_s']:+.2f} s",
                "<= 10 MB, 0.5 s",
                verdict(f["flat_ok"]),
            ]
        )
    for r in (load("baseline") or {}).get("rows", []):
        advantage = r.get("advantage")
        shown = "-" if advantage is None else f"{advantage:.2f}x, {r.get('better')} better"
        found.append(
            [
                f"naive vs duebot: {r['figure']}, {r['db']}",
                f"{_number(r['naive'])} vs {_number(r['duebot'])}",
                shown,
                r["note"],
            ]
        )
    return found


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"


def main() -> None:
    found = rows()
    missing = [
        name
        for name in ("tick_cost", "dispatch", "memory_startup", "baseline")
        if load(name) is None
    ]
    missed = [row[0] for row in found if row[3] == "MISSED"]
    human = table("summary of `make bench`", ["figure", "value", "target", "verdict"], found)
    if missing:
        human += f"\nnot measured in this run: {', '.join(missing)}"
    emit(
        "summary",
        {
            "missed": missed,
            "not_measured": missing,
            "rows": [
                dict(
                    zip(
                        ["figure", "value", "target", "verdict"],
                        [json.loads(json.dumps(v, default=str)) for v in row],
                        strict=True,
                    )
                )
                for row in found
            ],
        },
        human,
    )


if __name__ == "__main__":
    main()
