"""Plans in the realm console: create through the form, edit, versions, the calculator."""

import pytest
from sqlalchemy import select

from app.models import Plan, PlanVersion, Subscription
from tenants import realm_context

FORM = {
    "code": "fibre-100", "name": "Fibre 100", "currency": "USD", "recurring_fee": "20.00",
    "period": "monthly", "setup_fee": "10.00",
    "band_unit": ["MB", "MB", "MB", "hour"], "band_max_usage": ["0", "150", "500", "0"],
    "band_price": ["0.50", "0.10", "0.20", "5.00"],
}


@pytest.fixture
def console(realm_a, realm_client):
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    return client


def _plan(db, realm):
    with realm_context(realm.id):
        plan = db.session.scalar(select(Plan).where(Plan.code == "fibre-100"))
        if plan is None:
            return None, None
        return plan.id, [len(v.bands) for v in plan.versions]


def test_create_plan_and_quote_it(db, realm_a, console):
    assert console.post("/console/plans/new", FORM).status_code == 303
    plan_id, versions = _plan(db, realm_a)
    assert versions == [4]
    response = console.post(f"/console/plans/{plan_id}/quote",
                            {"unit": ["MB", "hour"], "amount": ["700", "3"]}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "220.00 USD" in html and "band 3 (from 150 to 500 MB): 350 MB x 0.20 = 70.00" in html
    bad = console.post(f"/console/plans/{plan_id}/quote", {"unit": ["MB"], "amount": ["lots"]}, htmx=True)
    assert bad.status_code == 422 and "not a decimal number" in bad.get_data(as_text=True)


def test_invalid_plan_shows_field_errors_and_writes_nothing(db, realm_a, console):
    form = {**FORM, "band_price": ["0.50", "abc", "0.20", "5.00"]}
    response = console.post("/console/plans/new", form, htmx=True)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "not a decimal number" in html
    assert _plan(db, realm_a) == (None, None)


def test_editing_a_plan_in_use_adds_a_version(db, realm_a, console, create_account):
    console.post("/console/plans/new", FORM)
    plan_id, _ = _plan(db, realm_a)
    # Unused: edited in place.
    console.post(f"/console/plans/{plan_id}", {**FORM, "recurring_fee": "21.00"})
    assert _plan(db, realm_a)[1] == [4]
    account = create_account(realm_a, "sub")
    from datetime import date
    with realm_context(realm_a.id):
        version = db.session.scalar(select(PlanVersion))
        db.session.add(Subscription(account_id=account.id, plan_version_id=version.id,
                                    status="active", starts_on=date(2026, 1, 1)))
        db.session.commit()
    console.post(f"/console/plans/{plan_id}", {**FORM, "recurring_fee": "25.00"})
    with realm_context(realm_a.id):
        plan = db.session.get(Plan, plan_id)
        fees = [(v.number, [str(f.amount) for f in v.fees if f.kind == "recurring"]) for v in plan.versions]
    assert fees == [(1, ["21.0000"]), (2, ["25.0000"])]  # the subscriber keeps version 1


def test_plans_of_another_realm_are_not_reachable(db, realm_a, realm_b, realm_client, console):
    other = realm_client(realm_b)
    other.login_staff("owner@bravo.example")
    other.post("/console/plans/new", FORM)
    plan_id, _ = _plan(db, realm_b)
    assert console.get(f"/console/plans/{plan_id}").status_code == 404
    assert console.post(f"/console/plans/{plan_id}/quote", {"unit": ["MB"], "amount": ["1"]}).status_code == 404
