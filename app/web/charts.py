"""Server-side bar charts: SVG geometry computed here, drawn by a template macro (no JS, no CDN)."""

from __future__ import annotations

from decimal import Decimal

WIDTH, HEIGHT, BASELINE = 640, 180, 150


def bar_chart(pairs, *, max_bars: int = 40) -> dict:
    """Bars for ``[(label, value), ...]``: the largest value spans the chart's height."""
    pairs = [(str(label), Decimal(str(value or 0))) for label, value in pairs][:max_bars]
    if not pairs:
        return {"bars": [], "width": WIDTH, "height": HEIGHT, "baseline": BASELINE}
    top = max((value for _, value in pairs), default=Decimal(0))
    step = WIDTH / len(pairs)
    bar_width = max(2.0, step * 0.7)
    bars = []
    for index, (label, value) in enumerate(pairs):
        height = float(value / top) * (BASELINE - 10) if top > 0 and value > 0 else 0.0
        bars.append({"x": round(index * step + (step - bar_width) / 2, 1), "width": round(bar_width, 1),
                     "y": round(BASELINE - height, 1), "height": round(height, 1),
                     "label": label, "value": value, "show_label": len(pairs) <= 12})
    return {"bars": bars, "width": WIDTH, "height": HEIGHT, "baseline": BASELINE}
