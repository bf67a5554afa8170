"""Charts for the owner, drawn off-screen (matplotlib's Agg backend) into PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

from babel.numbers import format_decimal

from bot.domain.aging import BUCKETS, Aging
from bot.domain.money import from_minor
from messages.render import render


def aging_chart(aging: Sequence[Aging], locale: str) -> bytes:
    """One bar group per currency, one bar per aging bucket."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: render straight into memory
    from matplotlib.figure import Figure

    labels = [render("owner/bucket_name", locale, bucket=bucket) for bucket in BUCKETS]
    figure = Figure(figsize=(7, 3.5), dpi=100)
    axes = figure.subplots()
    width = 0.8 / max(len(aging), 1)
    for index, entry in enumerate(aging):
        values = [float(from_minor(entry.buckets[b], entry.currency)) for b in BUCKETS]
        positions = [i + index * width for i in range(len(BUCKETS))]
        bars = axes.bar(positions, values, width, label=entry.currency)
        axes.bar_label(
            bars,
            labels=[format_decimal(v, format="#,##0", locale=locale) for v in values],
            fontsize=7,
        )
    axes.set_xticks([i + width * (len(aging) - 1) / 2 for i in range(len(BUCKETS))], labels)
    axes.set_title(render("owner/chart_title", locale))
    if len(aging) > 1:
        axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
