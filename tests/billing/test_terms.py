"""Pending charges, discounts, taxes, immutable invoices and credit notes."""

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.models import (
    Account,
    BuyerTaxProfile,
    Charge,
    Discount,
    Invoice,
    Subscription,
    TaxRate,
    TaxSettings,
)
from app.models.invoice import FinalizedInvoiceError
from app.rating.proration import Period
from app.services.billing.charges import add_charge, cancel_charge
from app.services.billing.corrections import issue_credit_note, void_invoice
from app.services.billing.draft import InvoiceDraft
from app.services.billing.run import preview_invoice, start_billing_run
from app.services.billing.terms import Buyer, DiscountTerm, RealmTerms, apply_terms
from app.services.errors import Invalid, NotAllowed
from app.services.plans import save_plan, spec_from_mapping
from tenants import realm_context

from .test_billing_runs import DIALUP


@pytest.fixture
def plan_version_id(db, realm_a):
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping(DIALUP, source="t"), effective_from=date(2020, 1, 1))
        db.session.commit()
        return plan.latest_version.id


def _subscribe(db, realm, account_id, version_id, starts=date(2026, 10, 1)):
    with realm_context(realm.id):
        db.session.add(Subscription(account_id=account_id, plan_version_id=version_id, status="active",
                                    starts_on=starts))
        db.session.commit()


def _issued(db, realm):
    with realm_context(realm.id):
        return {i.account_id: i for i in db.session.scalars(select(Invoice).where(Invoice.kind == "invoice"))}


# ------------------------------------------------------------------ pending charges
def test_a_charge_only_account_is_billed_once_and_the_key_makes_it_idempotent(db, realm_a, create_account):
    account_id = create_account(realm_a, "onlycharges").id
    with realm_context(realm_a.id):
        first = add_charge(account_id, description="Router", amount=D("49.90"), source_key="order-1")
        again = add_charge(account_id, description="Router", amount=D("49.90"), source_key="order-1")
        assert again.id == first.id
        add_charge(account_id, description="Goodwill", amount=D("5.00"), kind="credit")
        db.session.commit()
        draft = preview_invoice(account_id, on=date(2099, 1, 15))
        assert [(line.kind, line.amount) for line in draft.lines] == [("one_time", D("49.90")), ("credit", D("-5.00"))]
        start_billing_run("2099-01")
        db.session.commit()
        invoice = db.session.scalar(select(Invoice))
        assert invoice.total == D("44.90") and invoice.account_id == account_id
        assert {c.status for c in db.session.scalars(select(Charge))} == {"billed"}
        assert {c.invoice_id for c in db.session.scalars(select(Charge))} == {invoice.id}
        # Billed charges are not carried again next month.
        assert preview_invoice(account_id, on=date(2099, 2, 1)) is None
        with pytest.raises(NotAllowed):
            cancel_charge(first.id)


def test_bad_charges_are_refused_and_nothing_is_written(db, realm_a, create_account):
    account_id = create_account(realm_a).id
    with realm_context(realm_a.id):
        with pytest.raises(Invalid) as caught:
            add_charge(account_id, description="", amount=D("1.001"), kind="bogus", quantity=0)
        assert set(caught.value.errors) == {"description", "amount", "kind", "quantity"}
        assert db.session.scalar(select(func.count()).select_from(Charge)) == 0


def test_charges_and_subscription_fees_share_the_invoice(db, realm_a, create_account, plan_version_id):
    account_id = create_account(realm_a).id
    _subscribe(db, realm_a, account_id, plan_version_id)
    with realm_context(realm_a.id):
        add_charge(account_id, description="Late payment fee", amount=D("2.50"), kind="penalty",
                   charge_on=date(2026, 10, 3))
        add_charge(account_id, description="Next month's thing", amount=D("9.00"), charge_on=date(2026, 11, 3))
        draft = preview_invoice(account_id, on=date(2026, 10, 5))
    assert [(line.kind, line.amount) for line in draft.lines] == [("recurring", D("20.00")), ("penalty", D("2.50"))]


# ------------------------------------------------------------------ discounts and taxes
def test_discounts_and_exclusive_tax_with_reverse_charge(db, realm_a, create_account, plan_version_id):
    home = create_account(realm_a, "home").id
    business = create_account(realm_a, "biz").id
    _subscribe(db, realm_a, home, plan_version_id)
    with realm_context(realm_a.id):
        db.session.add(TaxSettings(country="DE", prices_include_tax=False))
        db.session.add(TaxRate(name="VAT", rate=D("19"), valid_from=date(2020, 1, 1), valid_until=date(2026, 7, 1)))
        db.session.add(TaxRate(name="VAT", rate=D("16"), valid_from=date(2026, 7, 1)))
        db.session.add(Discount(name="Loyal", kind="percent", value=D("10"), scope="line", line_kind="recurring",
                                valid_from=date(2026, 1, 1), valid_until=date(2027, 1, 1)))
        db.session.add(Discount(name="Welcome", kind="fixed", value=D("3"), scope="invoice", account_id=home,
                                valid_from=date(2026, 10, 1), valid_until=date(2026, 11, 1)))
        db.session.commit()
        draft = preview_invoice(home, on=date(2026, 10, 20))
        assert [(line.kind, line.amount) for line in draft.lines] == [
            ("recurring", D("20.00")), ("discount", D("-2.00")), ("discount", D("-3.00")), ("tax", D("2.40"))]
        assert draft.total == D("17.40") and draft.tax_total == D("2.40") and draft.subtotal == D("15.00")
        # The welcome discount is over in November; the tax rate of the issue date applies.
        november = preview_invoice(home, on=date(2026, 11, 2))
        assert november.total == D("20.88")
        db.session.get(Account, business).tax_id = "ATU12345678"
        db.session.add(BuyerTaxProfile(account_id=business, country="AT"))
        db.session.commit()
    _subscribe(db, realm_a, business, plan_version_id)
    with realm_context(realm_a.id):
        biz = preview_invoice(business, on=date(2026, 10, 20))
        assert biz.reverse_charge and biz.tax_total == 0 and "Reverse charge" in biz.notes
        assert biz.buyer_tax_id == "ATU12345678" and biz.total == D("18.00")  # loyal 10 %, no welcome discount
        start_billing_run("2026-10")
        db.session.commit()
        invoices = _issued(db, realm_a)
        invoice = invoices[home]
        assert invoice.total == sum(line.amount for line in invoice.lines) == D("17.40")
        assert (invoice.subtotal, invoice.tax_total, invoice.tax_rate) == (D("15.00"), D("2.40"), D("16"))
        assert invoices[business].reverse_charge and invoices[business].buyer_tax_id == "ATU12345678"


def test_inclusive_prices_show_the_contained_tax_without_a_line(db, realm_a, create_account, plan_version_id):
    account_id = create_account(realm_a).id
    _subscribe(db, realm_a, account_id, plan_version_id)
    with realm_context(realm_a.id):
        db.session.add(TaxSettings(country="DE", prices_include_tax=True))
        db.session.add(TaxRate(name="VAT", rate=D("19"), valid_from=date(2020, 1, 1)))
        db.session.commit()
        draft = preview_invoice(account_id, on=date(2026, 10, 20))
    assert [line.kind for line in draft.lines] == ["recurring"]
    assert draft.total == D("20.00") and draft.tax_total == D("3.19") and draft.subtotal == D("16.81")


amounts = st.decimals(min_value=D("-50"), max_value=D("500"), places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(st.tuples(st.sampled_from(["recurring", "usage", "one_time", "credit"]), amounts),
                   min_size=1, max_size=8),
    rate=st.sampled_from([None, D("0"), D("7"), D("19"), D("20"), D("8.1"), D("21.5")]),
    inclusive=st.booleans(), per_line=st.booleans(),
    mode=st.sampled_from(["ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_DOWN"]),
    discounts=st.lists(st.tuples(st.sampled_from(["percent", "fixed"]), st.sampled_from(["line", "invoice"]),
                                 st.decimals(min_value=D("0.01"), max_value=D("99.99"), places=2)), max_size=3),
    reverse=st.booleans(),
)
def test_lines_always_sum_exactly_to_the_total(lines, rate, inclusive, per_line, mode, discounts, reverse):
    from app.services.billing.draft import DraftLine

    draft = InvoiceDraft(1, "EUR", Period(date(2026, 1, 1), date(2026, 2, 1)),
                         [DraftLine(kind, f"line {i}", amount) for i, (kind, amount) in enumerate(lines)])
    terms = RealmTerms(country="DE", prices_include_tax=inclusive, tax_rounding="line" if per_line else "invoice",
                       rounding_mode=mode, tax_name="VAT", tax_rate=rate,
                       discounts=[DiscountTerm(i, f"d{i}", kind, value, scope, None, None, None)
                                  for i, (kind, scope, value) in enumerate(discounts)],
                       buyers={1: Buyer("FR123", "FR", False)} if reverse else {})
    apply_terms(draft, terms, set())
    assert all(line.amount == line.amount.quantize(D("0.01")) for line in draft.lines)
    assert draft.total == sum((line.amount for line in draft.lines), D(0))
    assert draft.subtotal + draft.tax_total == draft.total
    discounted = sum((line.amount for line in draft.lines if line.kind == "discount"), D(0))
    positives = sum((amount for _, amount in lines if amount > 0), D(0))
    assert -positives <= discounted <= 0  # never more off than there is to discount
    if reverse and rate:
        assert draft.tax_total == 0 and draft.reverse_charge
    if not inclusive:
        assert draft.tax_total == sum((line.amount for line in draft.lines if line.kind == "tax"), D(0))


# ------------------------------------------------------------------ immutability and credit notes
@pytest.fixture
def invoice_id(db, realm_a, create_account, plan_version_id):
    account_id = create_account(realm_a).id
    _subscribe(db, realm_a, account_id, plan_version_id)
    with realm_context(realm_a.id):
        db.session.add(TaxRate(name="VAT", rate=D("20"), valid_from=date(2020, 1, 1)))
        start_billing_run("2026-10")
        db.session.commit()
        return db.session.scalar(select(Invoice.id))


def test_a_finalized_invoice_cannot_be_edited(db, realm_a, invoice_id):
    with realm_context(realm_a.id):
        invoice = db.session.get(Invoice, invoice_id)
        assert invoice.total == D("24.00")
        invoice.total = D("1.00")
        with pytest.raises(FinalizedInvoiceError):
            db.session.flush()
        db.session.rollback()
        invoice = db.session.get(Invoice, invoice_id)
        invoice.lines[0].amount = D("0.00")
        with pytest.raises(FinalizedInvoiceError):
            db.session.flush()
        db.session.rollback()
        invoice = db.session.get(Invoice, invoice_id)
        db.session.delete(invoice)
        with pytest.raises(FinalizedInvoiceError):
            db.session.flush()
        db.session.rollback()
        invoice = db.session.get(Invoice, invoice_id)
        invoice.status = "draft"
        with pytest.raises(FinalizedInvoiceError):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(Invoice, invoice_id).total == D("24.00")


def test_credit_notes_full_and_partial_with_their_own_numbers(db, realm_a, invoice_id):
    with realm_context(realm_a.id):
        partial = issue_credit_note(invoice_id, reason="outage", amount="6.00")
        assert (partial.number, partial.kind, partial.credited_invoice_id) == ("CN-000001", "credit_note", invoice_id)
        assert partial.total == D("-6.00") and partial.tax_total == D("-1.00")
        assert [line.amount for line in partial.lines] == [D("-5.00"), D("-1.00")]
        with pytest.raises(Invalid):
            issue_credit_note(invoice_id, reason="too much", amount="18.01")
        rest = issue_credit_note(invoice_id, reason="closing")
        assert rest.number == "CN-000002" and rest.total == D("-18.00")
        with pytest.raises(NotAllowed) as caught:
            issue_credit_note(invoice_id, reason="again")
        assert caught.value.code == "fully_credited"
        with pytest.raises(NotAllowed):
            void_invoice(invoice_id, reason="credited already")
        db.session.commit()
        assert db.session.get(Invoice, invoice_id).number == "INV-000001"


def test_void_keeps_the_number_and_is_final(db, realm_a, invoice_id):
    with realm_context(realm_a.id):
        with pytest.raises(Invalid):
            void_invoice(invoice_id, reason=" ")
        invoice = void_invoice(invoice_id, reason="issued by mistake")
        db.session.commit()
        assert (invoice.status, invoice.number) == ("void", "INV-000001")
        with pytest.raises(NotAllowed):
            void_invoice(invoice_id, reason="twice")
        with pytest.raises(NotAllowed):
            issue_credit_note(invoice_id, reason="void")
        invoice.status = "finalized"
        with pytest.raises(FinalizedInvoiceError):
            db.session.flush()
        db.session.rollback()
