"""Time travel (time-machine): month end, 29 February, DST changes and year end, all in the
realm's time zone (Europe/Berlin here), plus the jBilling walk-through on a travelled clock."""

from datetime import UTC, date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from app.models import Invoice, Realm
from app.services.billing.run import preview_invoice, start_billing_run
from app.services.plans import save_plan, spec_from_mapping
from app.services.subscriptions import cancel, subscribe
from app.services.usage.ingest import ingest
from tenants import realm_context

from .test_billing_runs import DIALUP, call

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def berlin(db, realm_a):
    with realm_context(realm_a.id):
        db.session.get(Realm, realm_a.id).timezone = "Europe/Berlin"
        plan = save_plan(spec_from_mapping(DIALUP, source="t"), effective_from=date(2020, 1, 1))
        db.session.commit()
        return plan.id


def _berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def _period(draft):
    return draft.period.start if draft else None


def test_month_end_is_the_realms_midnight_not_utcs(db, realm_a, create_account, berlin):
    account_id = create_account(realm_a, "jb").id
    with realm_context(realm_a.id):
        subscribe(account_id, plan_id=berlin, starts_on=date(2026, 9, 1))
        # 23:30 UTC on 31 October is already 00:30 on 1 November in Berlin (CET, UTC+1).
        ingest([call("oct", "jb", 600, _berlin(2026, 10, 31, 23, 50)),
                call("nov", "jb", 1200, datetime(2026, 10, 31, 23, 30, tzinfo=UTC))])
        with time_machine.travel(_berlin(2026, 10, 31, 23, 59), tick=False):
            october = preview_invoice(account_id)
        with time_machine.travel(_berlin(2026, 11, 1, 0, 1), tick=False):
            assert datetime.now(UTC).day == 31  # still October in UTC ...
            november = preview_invoice(account_id)  # ... but November for the realm
    assert _period(october) == date(2026, 10, 1) and _period(november) == date(2026, 11, 1)
    assert [line.amount for line in october.lines if line.kind == "usage"] == [D("0.50")]
    # On November's preview the October record is late usage, the 23:30 UTC one is November's.
    assert [(line.kind, line.amount) for line in november.lines if "usage" in line.kind] == [
        ("usage", D("1.00")), ("late_usage", D("0.50"))]


def test_29_february_anchors_and_proration(db, realm_a, create_account, berlin):
    leap = create_account(realm_a, "leap").id
    month_end = create_account(realm_a, "monthend").id
    with realm_context(realm_a.id):
        with time_machine.travel(_berlin(2028, 2, 29, 12), tick=False):
            assert subscribe(leap, plan_id=berlin).starts_on == date(2028, 2, 29)  # today, realm time
            subscribe(month_end, plan_id=berlin, starts_on=date(2028, 1, 31))
            february = preview_invoice(month_end)
        march = preview_invoice(leap, on=date(2028, 3, 15))
        leap_feb = preview_invoice(leap, on=date(2028, 2, 29))
    # Anchored on 31 January: the period after 29 February ends on 31 March (day clamped, not drifted).
    assert [line.description for line in february.lines] == ["Dial-up: 2028-02-29 to 2028-03-31, one month"]
    assert [line.description for line in leap_feb.lines] == ["Dial-up: 2028-02-29 to 2028-03-29, one month"]
    assert [line.description for line in march.lines] == ["Dial-up: 2028-03-29 to 2028-04-29, one month"]


def test_dst_changes_move_the_utc_boundary_not_the_bill(db, realm_a, create_account, berlin):
    account_id = create_account(realm_a, "dst").id
    with realm_context(realm_a.id):
        subscribe(account_id, plan_id=berlin, starts_on=date(2026, 3, 1))
        # Summer time starts 29 March 2026: April begins at 22:00 UTC on 31 March (CEST, UTC+2).
        ingest([call("mar", "dst", 60, datetime(2026, 3, 31, 21, 59, tzinfo=UTC)),
                call("apr", "dst", 120, datetime(2026, 3, 31, 22, 0, tzinfo=UTC))])
        with time_machine.travel(datetime(2026, 3, 31, 22, 30, tzinfo=UTC), tick=False):
            april = preview_invoice(account_id)
        march = preview_invoice(account_id, on=date(2026, 3, 31))
        # 25 October 2026 has 25 hours in Berlin; proration counts days: 25 of 31.
        leaver = create_account(realm_a, "leaver").id
        sub = subscribe(leaver, plan_id=berlin, starts_on=date(2026, 10, 1))
        cancel(sub.id, on=date(2026, 10, 26))
        october = preview_invoice(leaver, on=date(2026, 10, 27))
    assert [line.amount for line in october.lines] == [D("16.13")]
    assert _period(april) == date(2026, 4, 1)
    assert [line.amount for line in march.lines if line.kind == "usage"] == [D("0.05")]
    assert [(line.kind, line.amount) for line in april.lines if "usage" in line.kind] == [
        ("usage", D("0.10")), ("late_usage", D("0.05"))]


def test_year_end_run_and_numbering_continue_into_january(db, realm_a, create_account, berlin):
    account_id = create_account(realm_a, "ye").id
    with realm_context(realm_a.id):
        subscribe(account_id, plan_id=berlin, starts_on=date(2026, 12, 1))
        with time_machine.travel(_berlin(2026, 12, 31, 23, 59, 59), tick=False):
            assert _period(preview_invoice(account_id)) == date(2026, 12, 1)
            start_billing_run("2026-12")
            db.session.commit()
        with time_machine.travel(_berlin(2027, 1, 1, 0, 0, 1), tick=False):
            assert datetime.now(UTC).year == 2026
            assert _period(preview_invoice(account_id)) == date(2027, 1, 1)
            start_billing_run("2027-01")
            db.session.commit()
        invoices = [(i.number, i.period_key, i.total) for i in db.session.scalars(select(Invoice).order_by(Invoice.sequence))]
    assert invoices == [("INV-000001", "2026-12-01", D("20.00")), ("INV-000002", "2027-01-01", D("20.00"))]


def test_jbilling_walk_through_on_a_travelled_clock(db, realm_a, create_account, berlin):
    """Sign up on 1 October at $20/month, talk 100 minutes at $0.05, invoice for October: $25.00."""
    account_id = create_account(realm_a, "jbw").id
    with realm_context(realm_a.id):
        with time_machine.travel(_berlin(2026, 10, 1, 9), tick=False):
            subscribe(account_id, plan_id=berlin)
        ingest([call("w1", "jbw", 3600, _berlin(2026, 10, 5, 9)), call("w2", "jbw", 2400, _berlin(2026, 10, 20, 9))])
        with time_machine.travel(_berlin(2026, 10, 31, 18), tick=False):
            preview = preview_invoice(account_id)
        with time_machine.travel(_berlin(2026, 11, 1, 2), tick=False):
            start_billing_run("2026-10")
            db.session.commit()
        invoice = db.session.scalar(select(Invoice))
        assert invoice.total == preview.total == D("25.00")
        assert [(line.kind, line.amount) for line in invoice.lines] == [("recurring", D("20.00")), ("usage", D("5.00"))]
        assert [line.quantity for line in invoice.lines if line.kind == "usage"] == [D("100")]
