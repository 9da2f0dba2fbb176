"""The overview's balance tiles in one statement (``ledger.account_position``) equal the
ledger's own reads (``open_invoices``, ``credit_balance``): several currencies in their
order, partly paid invoices, overpayments, refunds; and the open-session count rides along."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.models import RadiusSession
from app.services.payments.core import record_payment, refund_payment
from app.services.payments.ledger import account_position, credit_balance, open_invoices
from tenants import UnscopedRead, realm_context, realm_filter


def _expected(account_id):
    balance, count = {}, 0
    for invoice, due in open_invoices(account_id):
        balance[invoice.currency] = balance.get(invoice.currency, D(0)) + due
        count += 1
    return balance, count, {c: a for c, a in credit_balance(account_id).items() if a}


def _check(db, account_id, sessions):
    position = account_position(account_id, counting=select(func.count(RadiusSession.id)).where(
        RadiusSession.account_id == account_id, RadiusSession.stopped_at.is_(None), realm_filter(RadiusSession)))
    balance, count, credit = _expected(account_id)
    assert (position.open_balance, position.open_invoices, position.credit, position.counted) == (
        balance, count, credit, sessions)
    assert list(position.open_balance) == list(balance) and list(position.credit) == list(credit)
    return position


def test_position_equals_the_ledger(db, portal, make_invoice):
    today = datetime.now(UTC).date()
    with realm_context(portal.realm.id):
        first = _check(db, portal.id, 1)
        assert first.open_balance == {"USD": D("20.00")} and first.open_invoices == 1 and first.credit == {}
        assert account_position(portal.id).counted is None
    eur = make_invoice(portal.realm, portal.id, "12.34", issued=today - timedelta(days=90), currency="EUR")
    make_invoice(portal.realm, portal.id, "7.00", issued=today - timedelta(days=5))
    make_invoice(portal.realm, portal.id, "5.00", issued=today - timedelta(days=3), status="void")
    with realm_context(portal.realm.id):
        record_payment(portal.id, amount="8.00", currency="USD", invoice_id=portal.open_invoice,
                       idempotency_key="t-part")
        record_payment(portal.id, amount="20.00", currency="EUR", invoice_id=eur, idempotency_key="t-over")
        extra = record_payment(portal.id, amount="3.50", currency="USD", idempotency_key="t-credit",
                               received_at=datetime.now(UTC) - timedelta(days=1))
        db.session.commit()
        position = _check(db, portal.id, 1)
        assert list(position.open_balance) == ["USD"] and position.open_invoices == 2
        refund_payment(extra.id, amount="1.25")
        db.session.commit()
        _check(db, portal.id, 1)
        db.session.add(RadiusSession(session_key="nas1:s9", account_id=portal.id, nas="nas", session_id="s9",
                                     started_at=datetime.now(UTC), last_event_at=datetime.now(UTC)))
        db.session.commit()
        _check(db, portal.id, 2)
        _check(db, portal.other_id, 1)


def test_position_sql_is_scoped_to_the_realm_in_every_part(db, portal):
    from sqlalchemy import event

    seen = []

    def keep(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with realm_context(portal.realm.id):
        connection = db.session.connection()
        event.listen(connection, "before_cursor_execute", keep)
        try:
            account_position(portal.id, counting=select(func.count(RadiusSession.id)).where(
                RadiusSession.account_id == portal.id, realm_filter(RadiusSession)))
            with pytest.raises(UnscopedRead):  # a part without the filter is refused before it runs
                account_position(portal.id, counting=select(func.count(RadiusSession.id)).where(
                    RadiusSession.account_id == portal.id))
        finally:
            event.remove(connection, "before_cursor_execute", keep)
    (sql,) = seen
    for table in ("invoices", "payments", "payment_allocations", "radius_sessions"):
        assert sql.count(f"{table}.realm_id = ") >= (2 if table == "payment_allocations" else 1), (table, sql)


def test_chart_days_are_formatted_in_the_language_of_each_view(db, portal, signed_in):
    """Day labels are formatted once per language and day for the process: an English view
    and a German one right after it each get their own (bar titles and table rows alike)."""
    from babel.dates import format_date

    first = datetime.now(UTC).date().replace(day=1)
    english = signed_in.get("/?lang=en").get_data(as_text=True)
    german = signed_in.get("/?lang=de").get_data(as_text=True)
    again = signed_in.get("/?lang=en").get_data(as_text=True)
    for html, locale in ((english, "en"), (german, "de"), (again, "en")):
        text = format_date(first, "medium", locale=locale)
        chart = html[html.index('id="chart-mb"'):html.index('id="chart-h"')]
        assert f"<title>{text}: " in chart and f"<tr><td>{text}</td>" in chart, (locale, text)
    assert format_date(first, "medium", locale="de") not in english
