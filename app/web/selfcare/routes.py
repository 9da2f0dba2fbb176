"""Self-care portal for subscribers: URL rules of the overview and usage pages, and the
portal navigation shared by every self-care page (the other pages live in the modules
imported at the end of this file)."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from flask import Blueprint, current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..access import subscriber_required
from ..rendering import render

bp = Blueprint("selfcare", __name__)

# The portal's menu: (endpoint, label, endpoints that mark it as the current page).
# Entries whose endpoint is not registered (an area not installed yet) are left out.
NAV = [
    ("selfcare.home", _l("Overview"), ("selfcare.home",)),
    ("selfcare.usage", _l("Usage"), ("selfcare.usage",)),
    ("selfcare.sessions", _l("Sessions"), ("selfcare.sessions",)),
    ("selfcare.invoices", _l("Invoices"), ("selfcare.invoices",)),
    ("selfcare.payments", _l("Payments and top-ups"), ("selfcare.payments", "selfcare.pay", "selfcare.topup")),
    ("selfcare.vouchers", _l("Vouchers"), ("selfcare.vouchers",)),
    ("selfcare.plan", _l("Plan"), ("selfcare.plan", "selfcare.change_plan")),
    ("selfcare.password", _l("Password"), ("selfcare.password", "selfcare.change_password")),
]


# The payments area's page for paying one invoice (app/web/selfcare/payments.py).
PAY_ENDPOINTS = ("selfcare.pay",)


def portal_nav() -> list[tuple[str, str, bool]]:
    """(endpoint, label, is current page) for every installed self-care page."""
    views = current_app.view_functions
    return [(endpoint, str(label), request.endpoint in current)
            for endpoint, label, current in NAV if endpoint in views]


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def day_texts(days) -> list[str]:
    """``format_date(day)`` of each day, formatted once per locale and day for the process
    (the charts show each day four times: Babel's formatting was a fifth of a dashboard's
    CPU at the end of a month). Dates carry no time zone, so locale and day are the whole key."""
    from flask_babel import format_date, get_locale

    cache = current_app.extensions.setdefault("realmbill_day_texts", {})
    locale = str(get_locale())
    texts = []
    for day in days:
        text = cache.get((locale, day))
        if text is None:
            if len(cache) >= DAY_TEXTS_LIMIT:
                cache.clear()
            text = cache[(locale, day)] = format_date(day)
        texts.append(text)
    return texts


DAY_TEXTS_LIMIT = 20_000


class DayBar(NamedTuple):
    day: object
    value: Decimal
    x: int
    height: Decimal
    y: Decimal
    label: int | None      # the day of the month under every fifth bar
    day_text: str
    value_text: str


class DailyChart(NamedTuple):
    id: str
    unit: str
    label: str
    bars: list[DayBar]
    width: int
    peak: Decimal


# Named tuples, not dicts: the template reads ``bar.x``, which Jinja tries as an attribute
# first (on a dict that raises and catches an AttributeError per field and bar).
def daily_charts(summary) -> list[DailyChart]:
    """One bar chart per unit (traffic in MB, connected time in hours) of the period so far;
    every bar carries its day and value as shown (formatted once, used by the bar's title
    and the table row alike)."""
    from ..template_helpers import dec

    charts = []
    texts = day_texts([row[0] for row in summary.daily])
    for index, unit, label in ((1, "MB", _l("Traffic per day (MB)")), (2, "h", _l("Connected time per day (hours)"))):
        points = [(row[0], row[index]) for row in summary.daily]
        peak = max((value for _, value in points), default=Decimal(0))
        bars = []
        for position, (day, value) in enumerate(points):
            height = (Decimal(value) / peak * 90).quantize(Decimal("0.1")) if peak else Decimal(0)
            bars.append(DayBar(day, value, position * 10 + 1, height, Decimal(95) - height,
                               day.day if position % 5 == 0 else None, texts[position], dec(value, 2)))
        # The whole period's width, so a few days in the bars stay narrow.
        days = max((summary.period.end - summary.period.start).days, len(points), 1)
        charts.append(DailyChart(f"chart-{unit.lower()}", unit, str(label), bars, days * 10, peak))
    return charts


def pay_url(invoice_id: int) -> str | None:
    """Where the subscriber pays one invoice, if the payments pages are installed."""
    from flask import url_for
    from werkzeug.routing import BuildError

    for endpoint in PAY_ENDPOINTS:
        if endpoint in current_app.view_functions:
            try:
                return url_for(endpoint, invoice_id=invoice_id)
            except BuildError:
                continue
    return None


def fee_period(fee) -> str:
    from ..template_helpers import PERIOD_LABELS

    if fee.period == "days":
        return str(_l("%(days)s days", days=fee.every_days))
    return str(PERIOD_LABELS.get(fee.period, fee.period))


def megabytes(octets: int | None) -> str:
    from decimal import ROUND_HALF_UP

    return format((Decimal(octets or 0) / 10**6).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), "f")


def duration(seconds: int | None) -> str:
    """``1:02:03`` (hours:minutes:seconds) for a session's connected time."""
    seconds = int(seconds or 0)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@bp.context_processor
def _portal_helpers():
    return {"portal_nav": portal_nav, "has_endpoint": has_endpoint, "pay_url": pay_url, "fee_period": fee_period, "megabytes": megabytes, "duration": duration,
            "zero": Decimal(0)}


@bp.route("/")
@subscriber_required
def home():
    from app.services.selfcare import dashboard

    board = dashboard(current_user)
    return render("portal/home.html", account=current_user, board=board, summary=board.summary,
                  charts=daily_charts(board.summary))


@bp.route("/usage")
@subscriber_required
def usage():
    from app.services.usage.summary import usage_summary

    summary = usage_summary(current_user)
    return render("portal/usage.html", summary=summary, charts=daily_charts(summary))


from . import account as _account  # noqa: E402,F401 - password and plan change
from . import documents as _documents  # noqa: E402,F401 - invoices, receipts, PDFs
from . import payments as _payments  # noqa: E402,F401 - registers the payment pages on bp
from . import sessions as _sessions  # noqa: E402,F401 - RADIUS sessions
from . import vouchers as _vouchers  # noqa: E402,F401 - registers the voucher redemption page on bp
