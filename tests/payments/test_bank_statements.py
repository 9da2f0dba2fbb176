"""Bank statement import: every line and field error reported with nothing written;
matching by invoice number or account number; re-import idempotent by transaction id."""

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.models import BankStatementImport, BankStatementLine, Payment
from app.services.payments import invoice_balance
from app.services.payments.bank_statements import StatementInvalid, assign_line, import_statement
from app.services.payments.core import get_invoice
from tenants import realm_context

HEADER = "transaction_id,date,amount,currency,reference\n"


def test_errors_name_line_and_field_and_nothing_is_written(db, pay_realm, payer, make_invoice):
    make_invoice(pay_realm, payer.id, "10.00")
    content = (HEADER + "T1,2026-10-05,10.00,USD,INV-000001\n"
               "T2,05/10/2026,abc,XXX,x\n"
               ",2026-10-06,1.001,USD,y\n"
               "T1,2026-10-07,5.00,USD,dup\n").encode()
    with realm_context(pay_realm.id):
        with pytest.raises(StatementInvalid) as exc:
            import_statement("oct.csv", content)
        problems = {(p.line, p.field, p.code) for p in exc.value.problems}
        assert problems == {(3, "date", "invalid"), (3, "amount", "not_a_number"), (3, "currency", "unknown"),
                            (4, "transaction_id", "required"), (4, "amount", "too_many_decimals"),
                            (5, "transaction_id", "duplicate_in_file")}
        assert db.session.scalar(select(func.count(BankStatementImport.id))) == 0
        assert db.session.scalar(select(func.count(Payment.id))) == 0
        with pytest.raises(StatementInvalid) as exc:
            import_statement("bad.csv", b"id,when,amount\n1,2,3\n")
        assert {(p.field, p.code) for p in exc.value.problems} >= {("transaction_id", "missing_column")}


def test_import_matches_and_reimport_is_a_no_op(db, pay_realm, payer, make_invoice):
    first = make_invoice(pay_realm, payer.id, "10.00")
    second = make_invoice(pay_realm, payer.id, "25.00")
    content = (HEADER + "T1,2026-10-05,25.00,USD,Payment INV-000002 thanks\n"
               f"T2,2026-10-06,4.00,USD,{payer.number}\n"
               "T3,2026-10-06,-3.50,USD,bank fee\n"
               "T4,2026-10-07,7.00,USD,no idea\n").encode()
    with realm_context(pay_realm.id):
        batch = import_statement("oct.csv", content, created_by="finance@alpha.example")
        db.session.commit()
        assert (batch.matched, batch.unmatched, batch.ignored, batch.duplicates) == (2, 1, 1, 0)
        assert invoice_balance(get_invoice(second)) == 0          # by invoice number
        assert invoice_balance(get_invoice(first)) == D("6.00")   # by account number, oldest first
        again = import_statement("oct-again.csv", content)
        db.session.commit()
        assert (again.matched, again.duplicates) == (0, 4)
        assert db.session.scalar(select(func.count(Payment.id))) == 2
        unmatched = db.session.scalar(select(BankStatementLine).where(BankStatementLine.status == "unmatched"))
        assign_line(unmatched.id, payer.id)
        db.session.commit()
        assert invoice_balance(get_invoice(first)) == 0
        assert db.session.scalar(select(func.count(Payment.id))) == 3
        payment = db.session.scalar(select(Payment).where(Payment.external_id == "T1"))
        assert (payment.gateway, payment.method, payment.idempotency_key) == ("bank_transfer", "bank_transfer", "bank:T1")
