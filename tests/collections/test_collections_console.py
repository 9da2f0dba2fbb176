"""Collections console: aging page and CSV, rules form with validation, run dunning now."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tenants import realm_context

from .test_collections import make_invoice


def test_aging_page_csv_rules_and_run(db, realm_a, realm_client, create_account):
    from app.models.collections import CollectionPolicy, DunningStep

    account_id = create_account(realm_a, "carl", name="Carl Late", email="carl@example.org").id
    today = datetime.now(UTC).date()
    with realm_context(realm_a.id):
        make_invoice(account_id, total="42.00", due=today - timedelta(days=40), number="C1")
        db.session.commit()
    client = realm_client(realm_a)
    client.login_staff(f"owner@{realm_a.slug}.example")

    page = client.get("/console/collections").get_data(as_text=True)
    assert "Aging report" in page and "Carl Late" in page and "42.00 USD" in page
    lines = list(csv.reader(io.StringIO(client.get("/console/collections/aging.csv").get_data(as_text=True))))
    assert lines[1][1:] == ["Carl Late", "USD", "0.00", "0.00", "42.00", "0.00", "0.00", "42.00"]

    rules = {"grace_days": "2", "reminder_days": "5, 10", "final_warning_days": "20", "penalty_kind": "fixed",
             "penalty_amount": "3.50", "penalty_days": "30", "suspend_days": "60"}
    bad = client.post("/console/collections/policy", {**rules, "grace_days": "soon"})
    assert bad.status_code == 422 and "Enter a whole number of days." in bad.get_data(as_text=True)
    with realm_context(realm_a.id):
        assert db.session.scalar(select(CollectionPolicy)) is None  # nothing saved
    saved = client.post("/console/collections/policy", rules)
    assert saved.status_code == 303
    with realm_context(realm_a.id):
        policy = db.session.scalar(select(CollectionPolicy))
        assert (policy.reminder_days, policy.bill_suspended, str(policy.penalty_amount)) == ("5,10", False, "3.5000")

    assert client.post("/console/collections/run").status_code == 303
    with realm_context(realm_a.id):
        steps = sorted(db.session.scalars(select(DunningStep.step)))
    assert steps == ["final", "penalty", "reminder-10", "reminder-5"]
    assert "reminder-10" in client.get("/console/collections").get_data(as_text=True)


def test_collections_need_finance(db, realm_a, realm_client):
    from app.services.staff import create_staff

    with realm_context(realm_a.id):
        create_staff(email="sue@alpha.example", name="Sue", role="support", password="support-password")
        db.session.commit()
    client = realm_client(realm_a)
    client.login_staff("sue@alpha.example", "support-password")
    assert client.get("/console/collections").status_code == 403
    assert client.get("/console/vouchers").status_code == 403
