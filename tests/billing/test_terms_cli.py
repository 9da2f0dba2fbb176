"""``realmbill bill preview|charge|credit-note|void|migrate`` through the real click group."""

import json
from datetime import date

from sqlalchemy import select

from app.models import Charge, Invoice
from app.services.billing.run import start_billing_run
from app.services.plans import save_plan, spec_from_mapping
from app.services.subscriptions import subscribe
from tenants import realm_context

from .test_subscriptions import BASIC


def test_bill_commands(app, db, realm_a, create_account):
    account_id = create_account(realm_a, "clia").id
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping(BASIC, source="t"), effective_from=date(2020, 1, 1))
        subscribe(account_id, plan_id=plan.id, starts_on=date(2026, 9, 1))
        db.session.commit()
    run = app.test_cli_runner().invoke
    charge = ["bill", "charge", "clia", "--realm", "alpha", "--amount", "4.50", "--description", "Cable", "--key", "k1"]
    assert run(args=charge).exit_code == 0
    assert run(args=charge).exit_code == 0  # the key makes it idempotent
    bad = run(args=["bill", "charge", "clia", "--realm", "alpha", "--amount", "x", "--description", "Cable"])
    assert bad.exit_code == 1 and "amount: not_a_number" in bad.output
    with realm_context(realm_a.id):
        assert len(db.session.scalars(select(Charge)).all()) == 1
    preview = run(args=["bill", "preview", "clia", "--realm", "alpha", "--on", "2026-12-02", "--json"])
    assert preview.exit_code == 0, preview.output
    assert json.loads(preview.output)["total"] == "35.50"  # the charge is dated today: December
    with realm_context(realm_a.id):
        start_billing_run("2026-10")
        db.session.commit()
        number = db.session.scalar(select(Invoice.number))
    note = run(args=["bill", "credit-note", number, "--realm", "alpha", "--amount", "5.50", "--reason", "x"])
    assert note.exit_code == 0 and "CN-000001: -5.50 USD" in note.output
    assert run(args=["bill", "void", number, "--realm", "alpha", "--reason", "x"]).exit_code == 1  # credited
    with realm_context(realm_a.id):
        save_plan(spec_from_mapping({**BASIC, "fees": [{"kind": "recurring", "period": "monthly", "amount": "33.00"}]},
                                    source="t"), effective_from=date(2026, 11, 1))
        db.session.commit()
    migrate = run(args=["bill", "migrate", "basic", "--realm", "alpha", "--on", "2026-11-01"])
    assert migrate.exit_code == 0 and "31.00 ->      33.00" in migrate.output and "moved" not in migrate.output
    applied = run(args=["bill", "migrate", "basic", "--realm", "alpha", "--on", "2026-11-01", "--apply"])
    assert "moved 1" in applied.output
