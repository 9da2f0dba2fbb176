"""realmbill payments: statement import (refused whole on errors), retries, gateways."""

import pytest
from sqlalchemy import func, select

from app.models import Payment
from tenants import realm_context


@pytest.fixture
def cli(app, db):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args), catch_exceptions=False)

    return invoke


def test_import_statement_and_gateways(cli, db, pay_realm, payer, make_invoice, tmp_path):
    make_invoice(pay_realm, payer.id, "10.00")
    bad = tmp_path / "bad.csv"
    bad.write_text("transaction_id,date,amount,currency,reference\nT1,2026-10-01,1O.00,USD,INV-000001\n")
    result = cli("payments", "import-statement", "--realm", "alpha", str(bad))
    assert result.exit_code != 0 and "line 2: amount: not_a_number" in result.output
    good = tmp_path / "good.csv"
    good.write_text("transaction_id,date,amount,currency,reference\nT1,2026-10-01,10.00,USD,INV-000001\n")
    result = cli("payments", "import-statement", "--realm", "alpha", str(good))
    assert result.exit_code == 0 and "1 matched, 0 unmatched" in result.output
    assert "0 matched, 0 unmatched, 1 already imported" in cli("payments", "import-statement", "--realm", "alpha", str(good)).output
    with realm_context(pay_realm.id):
        assert db.session.scalar(select(func.count(Payment.id))) == 1
    listing = cli("payments", "gateways", "--realm", "alpha").output
    assert "test_card\ton" in listing and "bank_transfer\ton\tset: account_holder, iban" in listing
    assert "0 charge(s) retried" in cli("payments", "retry-charges", "--realm", "alpha").output


