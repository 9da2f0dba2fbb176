"""Usage charts for invoices: one bar chart per unit and day, drawn with Pillow (no network)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from .pdf import data_uri

WIDTH, HEIGHT = 1000, 240
LEFT, BOTTOM, TOP = 70, 34, 30


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def bar_chart_png(unit: str, days: list[tuple[date, Decimal]], *, colour: str = "#1f5fbf") -> bytes:
    """A PNG bar chart of ``days`` (date, amount) for one unit."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font, small = _font(20), _font(15)
    peak = max((v for _, v in days), default=Decimal(0)) or Decimal(1)
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP
    draw.text((LEFT, 4), unit, fill="#222222", font=font)
    draw.line((LEFT, TOP, LEFT, TOP + plot_h, WIDTH - 10, TOP + plot_h), fill="#888888", width=2)
    draw.text((4, TOP - 8), f"{peak.normalize():f}"[:8], fill="#666666", font=small)
    draw.text((4, TOP + plot_h - 16), "0", fill="#666666", font=small)
    count = max(len(days), 1)
    slot = plot_w / count
    for index, (day, value) in enumerate(days):
        height = int(plot_h * float(value / peak)) if value > 0 else 0
        x0 = LEFT + index * slot + slot * 0.15
        x1 = LEFT + (index + 1) * slot - slot * 0.15
        if height:
            draw.rectangle((x0, TOP + plot_h - height, x1, TOP + plot_h), fill=colour)
        if count <= 16 or day.day in (1, 5, 10, 15, 20, 25, 30):
            draw.text((x0, TOP + plot_h + 6), str(day.day), fill="#444444", font=small)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


def chart_images(series: dict[str, list[tuple[date, Decimal]]], colour: str) -> list[dict]:
    """``[{"unit", "uri", "height"}]`` for the invoice template (height in points at 500 wide)."""
    return [{"unit": unit, "uri": data_uri(bar_chart_png(unit, days, colour=colour), "image/png"),
             "height": int(500 * HEIGHT / WIDTH)} for unit, days in sorted(series.items()) if days]
