"""Server-side bar charts: SVG geometry computed here, drawn by a template macro (no JS, no CDN)."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

WIDTH, HEIGHT, BASELINE = 640, 180, 150


class Bar(NamedTuple):
    x: float
    width: float
    y: float
    height: float
    label: str
    value: Decimal
    show_label: bool


class BarChart(NamedTuple):
    bars: list[Bar]
    width: int
    height: int
    baseline: int


# Named tuples, not dicts: the template reads ``bar.x``, which Jinja tries as an attribute
# first (on a dict that raises and catches an AttributeError per field and bar).
def bar_chart(pairs, *, max_bars: int = 40) -> BarChart:
    """Bars for ``[(label, value), ...]``: the largest value spans the chart's height."""
    pairs = [(str(label), Decimal(str(value or 0))) for label, value in pairs][:max_bars]
    if not pairs:
        return BarChart([], WIDTH, HEIGHT, BASELINE)
    top = max((value for _, value in pairs), default=Decimal(0))
    step = WIDTH / len(pairs)
    bar_width = max(2.0, step * 0.7)
    bars = []
    for index, (label, value) in enumerate(pairs):
        height = float(value / top) * (BASELINE - 10) if top > 0 and value > 0 else 0.0
        bars.append(Bar(round(index * step + (step - bar_width) / 2, 1), round(bar_width, 1),
                        round(BASELINE - height, 1), round(height, 1), label, value, len(pairs) <= 12))
    return BarChart(bars, WIDTH, HEIGHT, BASELINE)
