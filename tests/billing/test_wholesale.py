"""Wholesale: a VISP realm's month aggregated and invoiced to its owner in the parent realm."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.mediation.records import UsageEvent
from app.models import Invoice, Subscription
from app.models.wholesale import WholesaleStatement
from app.services.billing.run import start_billing_run
from app.services.billing.wholesale import (
    bill_wholesale,
    bill_wholesale_children,
    preview_wholesale,
    set_wholesale_plan,
)
from app.services.errors import Invalid, NotAllowed, NotFound
from app.services.plans import save_plan, spec_from_mapping
from app.services.realms import set_owner_account
from app.services.usage.ingest import ingest
from tenants import realm_context

GB = 10**9
WHOLESALE = {
    "code": "wholesale", "name": "Wholesale access", "currency": "USD",
    "units": [{"name": "subscriber"}],
    "fees": [{"kind": "recurring", "period": "monthly", "amount": "50.00"}],
    "bands": [
        {"unit": "subscriber", "max_usage": "0", "price": "2.00"},
        {"unit": "GB", "max_usage": "100", "price": "0.10"},
        {"unit": "GB", "max_usage": "0", "price": "0.05"},
    ],
}
RETAIL = {
    "code": "home", "name": "Home", "currency": "USD",
    "fees": [{"kind": "recurring", "period": "monthly", "amount": "30.00"}],
}


def session(record_id, username, octets, seconds, when):
    return UsageEvent(source="cdr", source_record_id=record_id, username=username, ip=None, nas=None,
                      session_id=None, status="cdr", event_time=when, start=when, duration_s=seconds,
                      bytes_in=octets // 2, bytes_out=octets - octets // 2)


@pytest.fixture
def visp(db, provider_realm, realm_a, create_account):
    """realm_a (a VISP of the provider) with two subscribers and traffic in October 2026."""
    owner_id = create_account(provider_realm, "alpha-owner", name="Alpha Net Ltd").id
    set_owner_account(realm=realm_a, account_id=owner_id)
    db.session.commit()
    subscribers = [create_account(realm_a, name).id for name in ("ann", "ben")]
    create_account(realm_a, "idle")  # no subscription: not an active subscriber
    with realm_context(realm_a.id):
        retail = save_plan(spec_from_mapping(RETAIL, source="t"), effective_from=date(2026, 1, 1))
        for account_id in subscribers:
            db.session.add(Subscription(account_id=account_id, plan_version_id=retail.latest_version.id,
                                        status="active", starts_on=date(2026, 10, 1)))
        db.session.flush()
        ingest([
            session("w1", "ann", 60 * GB, 3600, datetime(2026, 10, 3, tzinfo=UTC)),
            session("w2", "ben", 60 * GB, 1800, datetime(2026, 10, 20, tzinfo=UTC)),
            session("w3", "ben", 5 * GB, 0, datetime(2026, 11, 2, tzinfo=UTC)),  # November
        ])
        start_billing_run("2026-10")  # the VISP bills its own subscribers (retail)
        db.session.commit()
    with realm_context(provider_realm.id):
        plan = save_plan(spec_from_mapping(WHOLESALE, source="t"), effective_from=date(2026, 1, 1))
        set_wholesale_plan(realm_a.id, plan_id=plan.id)
        db.session.commit()
    return owner_id


def _invoices(db, realm):
    with realm_context(realm.id):
        return db.session.scalars(select(Invoice).order_by(Invoice.id)).all()


def test_month_is_aggregated_and_invoiced_to_the_owner(db, provider_realm, realm_a, visp):
    with realm_context(provider_realm.id):
        preview = preview_wholesale(realm_a.id, "2026-10")
        statement = bill_wholesale(realm_a.id, "2026-10")
        db.session.commit()
        assert (statement.active_subscribers, statement.traffic_mb, statement.time_hours) == (2, D(120000), D("1.5"))
        assert statement.retail_total == D("60.00") and statement.retail_currency == "USD"
        # 50.00 fee + 2 subscribers x 2.00 + 100 GB x 0.10 + 20 GB x 0.05
        assert statement.total == D("65.00") == preview.total
        invoice = statement.invoice
        assert invoice.account_id == visp and invoice.total == D("65.00")
        assert invoice.number == "INV-000001" and invoice.status == "finalized"
        assert [line.amount for line in invoice.lines] == [D("50.00"), D("4.00"), D("10.00"), D("1.00")]
        assert [line.unit for line in invoice.lines] == [None, "subscriber", "GB", "GB"]
        assert sum(line.amount for line in invoice.lines) == invoice.total
        assert "Alpha Net" in invoice.lines[1].description
        drill = {(line.username, line.active, line.traffic_mb) for line in statement.lines}
        assert drill == {("ann", True, D(60000)), ("ben", True, D(60000))}
    # The VISP's own invoices are untouched; the wholesale invoice lives in the parent realm.
    assert [i.total for i in _invoices(db, realm_a)] == [D("30.00"), D("30.00")]


def test_billing_again_writes_nothing(db, provider_realm, realm_a, visp):
    with realm_context(provider_realm.id):
        first = bill_wholesale(realm_a.id, "2026-10").id
        db.session.commit()
        assert bill_wholesale(realm_a.id, "2026-10").id == first
        assert [s.id for s in bill_wholesale_children("2026-10")] == [first]
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(WholesaleStatement)) == 1
    assert len(_invoices(db, provider_realm)) == 1


def test_refusals_write_nothing(db, provider_realm, realm_a, realm_b, visp, create_account):
    with realm_context(provider_realm.id):
        with pytest.raises(NotAllowed) as open_period:
            bill_wholesale(realm_a.id, "2026-10", today=date(2026, 10, 31))
        assert open_period.value.code == "period_open"
        with pytest.raises(NotAllowed) as no_plan:
            bill_wholesale(realm_b.id, "2026-10")  # no agreement for bravo
        assert no_plan.value.code == "no_wholesale_plan"
        with pytest.raises(Invalid):
            bill_wholesale(realm_a.id, "2026-13")
    with realm_context(realm_b.id), pytest.raises(NotFound):
        bill_wholesale(realm_a.id, "2026-10")  # alpha is not below bravo
    assert _invoices(db, provider_realm) == []
    with realm_context(provider_realm.id):
        assert db.session.scalar(select(func.count()).select_from(WholesaleStatement)) == 0


def test_owner_account_required(db, provider_realm, realm_a, visp):
    realm_a.owner_account_id = None
    db.session.commit()
    with realm_context(provider_realm.id), pytest.raises(NotAllowed) as refused:
        bill_wholesale(realm_a.id, "2026-10")
    assert refused.value.code == "no_owner_account"


def test_job_and_cli(app, db, provider_realm, realm_a, visp):
    from workers.scheduler import TASKS
    from workers.wholesale import bill_wholesale_job

    assert "wholesale-cycle" in TASKS
    statement_id = bill_wholesale_job(provider_realm.id, realm_a.id, "2026-10")
    result = app.test_cli_runner().invoke(
        args=["bill", "wholesale", "--realm", "provider", "--period", "2026-10"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "alpha 2026-10: 2 subscribers, 120000 MB, 1.5 h, 65.00" in result.output
    assert "INV-000001" in result.output
    with realm_context(provider_realm.id):
        assert db.session.scalar(select(WholesaleStatement.id)) == statement_id
    bad = app.test_cli_runner().invoke(
        args=["bill", "wholesale", "--realm", "provider", "--period", "2026-10", "--child", "nope"])
    assert bad.exit_code == 1 and "no realm 'nope'" in bad.output


def test_provider_console_totals_and_drill_down(db, provider_realm, realm_a, visp, realm_client):
    client = realm_client("localhost")
    client.login_staff("owner@provider.example")
    page = client.get("/provider/wholesale?period=2026-10").get_data(as_text=True)
    assert "alpha" in page and "65.00 USD" in page and "Bill now" in page
    response = client.post(f"/provider/wholesale/{realm_a.id}/bill", {"period": "2026-10"})
    assert response.status_code == 303
    page = client.get("/provider/wholesale?period=2026-10").get_data(as_text=True)
    assert "INV-000001" in page and "Bill now" not in page
    drill = client.get(f"/provider/wholesale/{realm_a.id}/2026-10").get_data(as_text=True)
    assert "ann" in drill and "ben" in drill and "60000.00" in drill and "idle" not in drill
    # Only the provider's staff: a VISP's owner gets 403.
    other = realm_client(realm_a)
    other.login_staff("owner@alpha.example")
    assert other.get("/provider/wholesale").status_code == 403


def test_parent_realm_tax_applies_to_the_wholesale_invoice(db, provider_realm, realm_a, visp):
    from app.models.billing_terms import TaxRate

    with realm_context(provider_realm.id):
        db.session.add(TaxRate(name="VAT", rate=D("10"), valid_from=date(2026, 1, 1)))
        db.session.commit()
        preview = preview_wholesale(realm_a.id, "2026-10")
        statement = bill_wholesale(realm_a.id, "2026-10")
        db.session.commit()
        invoice = statement.invoice
        assert (invoice.subtotal, invoice.tax_total, invoice.total) == (D("65.00"), D("6.50"), D("71.50"))
        assert statement.total == preview.total == D("71.50")
        assert invoice.lines[-1].kind == "tax"
        assert "Wholesale alpha 2026-10" in invoice.notes


def test_revenue_share_band(db, provider_realm, realm_a, visp):
    share = {**WHOLESALE, "code": "share", "units": [{"name": "revenue"}],
             "fees": [], "bands": [{"unit": "revenue", "max_usage": "0", "price": "0.15"}]}
    with realm_context(provider_realm.id):
        plan = save_plan(spec_from_mapping(share, source="t"), effective_from=date(2026, 1, 1))
        set_wholesale_plan(realm_a.id, plan_id=plan.id)
        statement = bill_wholesale(realm_a.id, "2026-10")
        assert statement.total == D("9.00")  # 15 % of the 60.00 the VISP invoiced
        assert statement.invoice.lines[0].unit == "revenue"



def test_concurrent_billing_of_one_month_writes_one_invoice(committed_pg_app):
    import threading

    from app.extensions import db as _db
    from app.services.accounts import create_account
    from app.services.realms import create_realm
    from app.services.uow import unit_of_work

    app = committed_pg_app
    with app.app_context(), unit_of_work():
        parent = create_realm(slug="provider", name="Provider")
        child = create_realm(slug="alpha", name="Alpha", parent_slug="provider")
        with realm_context(parent.id):
            owner = create_account(username="alpha-owner", name="Alpha Ltd")
            set_owner_account(realm=child, account_id=owner.id)
            plan = save_plan(spec_from_mapping(WHOLESALE, source="t"), effective_from=date(2026, 1, 1))
            set_wholesale_plan(child.id, plan_id=plan.id)
        parent_id, child_id = parent.id, child.id
    barrier, results, errors = threading.Barrier(4), [], []

    def bill():
        with app.app_context():
            try:
                barrier.wait()
                with realm_context(parent_id), unit_of_work():
                    results.append(bill_wholesale(child_id, "2026-10").id)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=bill) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(set(results)) == 1
    with app.app_context(), realm_context(parent_id):
        assert _db.session.scalar(select(func.count()).select_from(Invoice)) == 1
        assert _db.session.scalar(select(func.count()).select_from(WholesaleStatement)) == 1
        assert _db.session.scalar(select(Invoice.total)) == D("50.00")
        _db.session.remove()
