"""EN 16931 electronic invoices: Factur-X / ZUGFeRD (UN/CEFACT CII) XML for an invoice, and
the PDF/A-3 container carrying it (``factur-x`` package).

``facturx_xml`` is what the API serves alone; ``embed_facturx`` attaches it to the PDF.
Amounts are exact decimals, quantized to the currency; line totals sum to the invoice's
net total, and VAT is one breakdown (category S with the effective rate, or Z when the
invoice carries no tax).
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree
from sqlalchemy import select

from app.extensions import db
from app.models import Invoice, Realm
from app.rating.money import MoneyError, quantize_money
from tenants import require_realm_id

from ..errors import NotAllowed
from ..lookups import get_or_not_found

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
GUIDELINE = "urn:cen.eu:en16931:2017"
# UN/ECE Recommendation 20 unit codes for the units we bill.
UNIT_CODES = {"minute": "MIN", "min": "MIN", "hour": "HUR", "h": "HUR", "second": "SEC", "day": "DAY",
              "month": "MON", "MB": "4L", "GB": "E34", "kB": "2P", "KB": "2P", "TB": "E35", "B": "AD"}


def _q(tag: str) -> str:
    prefix, _, name = tag.partition(":")
    return f"{{{NS[prefix]}}}{name}"


def _sub(parent, tag: str, text=None, **attrs):
    node = etree.SubElement(parent, _q(tag), attrs)
    if text is not None:
        node.text = str(text)
    return node


def _amount(value, currency: str) -> str:
    try:
        return format(quantize_money(Decimal(value), currency), "f")
    except MoneyError:
        return format(Decimal(value).quantize(Decimal("0.01")), "f")


def _date(parent, tag: str, value) -> None:
    node = _sub(parent, tag)
    _sub(node, "udt:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _party(parent, tag: str, *, name: str, tax_id: str | None, country: str | None = None,
           email: str | None = None) -> None:
    party = _sub(parent, tag)
    _sub(party, "ram:Name", name)
    address = _sub(party, "ram:PostalTradeAddress")
    _sub(address, "ram:CountryID", (country or "US").upper()[:2])
    if email:
        uri = _sub(party, "ram:URIUniversalCommunication")
        _sub(uri, "ram:URIID", email, schemeID="EM")
    if tax_id:
        registration = _sub(party, "ram:SpecifiedTaxRegistration")
        _sub(registration, "ram:ID", tax_id, schemeID="VA")


def _country_of(tax_id: str | None, fallback: str) -> str:
    if tax_id and len(tax_id) > 2 and tax_id[:2].isalpha():
        return tax_id[:2].upper()
    return fallback


def facturx_xml(invoice: Invoice, *, realm: Realm) -> bytes:
    """The invoice as EN 16931 CII XML (Factur-X profile EN16931)."""
    if invoice.status == "draft" or not invoice.number:
        raise NotAllowed("not_finalized")
    currency = invoice.currency
    account = invoice.account
    # The tax is the VAT breakdown, not an item; a credit note (381) states positive amounts.
    lines = [line for line in invoice.lines if line.kind != "tax"]
    sign = Decimal(-1) if invoice.kind == "credit_note" else Decimal(1)
    tax = sign * quantize_money(Decimal(invoice.tax_total or 0), currency)
    gross_lines = bool(getattr(invoice, "prices_include_tax", False))
    line_sum = sum((sign * quantize_money(Decimal(line.amount), currency) for line in lines), Decimal(0))
    net = line_sum - tax if gross_lines else line_sum
    grand = net + tax
    declared = getattr(invoice, "tax_rate", None)
    if declared is not None and tax:
        rate = Decimal(declared).quantize(Decimal("0.01"))
    else:
        rate = (tax * 100 / net).quantize(Decimal("0.01")) if net and tax else Decimal("0.00")
    line_amounts = [sign * quantize_money(Decimal(line.amount), currency) for line in lines]
    if gross_lines and tax and line_amounts:
        # Net line totals from tax-inclusive prices; the rounding rest goes on the last line,
        # so the lines still sum exactly to the net total.
        line_amounts = [quantize_money(a * 100 / (100 + rate), currency) for a in line_amounts]
        line_amounts[-1] += net - sum(line_amounts, Decimal(0))
    reverse = bool(getattr(invoice, "reverse_charge", False))
    category = "AE" if reverse else ("S" if tax else "Z")
    default_country = {"EUR": "DE", "GBP": "GB", "CHF": "CH"}.get(currency, "US")

    root = etree.Element(_q("rsm:CrossIndustryInvoice"), nsmap=NS)
    context = _sub(root, "rsm:ExchangedDocumentContext")
    guideline = _sub(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    _sub(guideline, "ram:ID", GUIDELINE)
    document = _sub(root, "rsm:ExchangedDocument")
    _sub(document, "ram:ID", invoice.number)
    _sub(document, "ram:TypeCode", "381" if invoice.kind == "credit_note" else "380")
    _date(document, "ram:IssueDateTime", invoice.issue_date or invoice.finalized_at.date())
    if invoice.notes:
        note = _sub(document, "ram:IncludedNote")
        _sub(note, "ram:Content", invoice.notes)

    transaction = _sub(root, "rsm:SupplyChainTradeTransaction")
    for position, (line, amount) in enumerate(zip(lines, line_amounts, strict=True), 1):
        item = _sub(transaction, "ram:IncludedSupplyChainTradeLineItem")
        doc = _sub(item, "ram:AssociatedDocumentLineDocument")
        _sub(doc, "ram:LineID", position)
        product = _sub(item, "ram:SpecifiedTradeProduct")
        _sub(product, "ram:Name", line.description[:500])
        qty = Decimal(line.quantity) if line.quantity else Decimal(1)
        if line.unit_price is not None and not (gross_lines and tax):
            unit_price = Decimal(line.unit_price)
        else:
            unit_price = (amount / qty).quantize(Decimal("0.000001"))
        agreement = _sub(item, "ram:SpecifiedLineTradeAgreement")
        price = _sub(agreement, "ram:NetPriceProductTradePrice")
        _sub(price, "ram:ChargeAmount", format(abs(unit_price).normalize(), "f") if unit_price else "0")
        delivery = _sub(item, "ram:SpecifiedLineTradeDelivery")
        signed_qty = qty if (amount >= 0) == (unit_price >= 0) else -qty
        _sub(delivery, "ram:BilledQuantity", format(signed_qty.normalize(), "f"),
             unitCode=UNIT_CODES.get(line.unit or "", "C62"))
        settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
        line_tax = _sub(settlement, "ram:ApplicableTradeTax")
        _sub(line_tax, "ram:TypeCode", "VAT")
        _sub(line_tax, "ram:CategoryCode", category)
        _sub(line_tax, "ram:RateApplicablePercent", rate)
        summation = _sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        _sub(summation, "ram:LineTotalAmount", _amount(amount, currency))

    agreement = _sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    seller_tax = invoice.seller_tax_id or realm.seller_tax_id
    buyer_tax = invoice.buyer_tax_id or account.tax_id
    _party(agreement, "ram:SellerTradeParty", name=realm.name, tax_id=seller_tax,
           country=_country_of(seller_tax, default_country))
    _party(agreement, "ram:BuyerTradeParty", name=account.name, tax_id=buyer_tax,
           country=_country_of(buyer_tax, default_country), email=account.email)
    _sub(transaction, "ram:ApplicableHeaderTradeDelivery")
    settlement = _sub(transaction, "ram:ApplicableHeaderTradeSettlement")
    _sub(settlement, "ram:InvoiceCurrencyCode", currency)
    breakdown = _sub(settlement, "ram:ApplicableTradeTax")
    _sub(breakdown, "ram:CalculatedAmount", _amount(tax, currency))
    _sub(breakdown, "ram:TypeCode", "VAT")
    if category == "AE":
        _sub(breakdown, "ram:ExemptionReason", "Reverse charge")
    elif category == "Z":
        _sub(breakdown, "ram:ExemptionReason", "Zero rated")
    _sub(breakdown, "ram:BasisAmount", _amount(net, currency))
    _sub(breakdown, "ram:CategoryCode", category)
    _sub(breakdown, "ram:RateApplicablePercent", rate)
    if invoice.period_start and invoice.period_end:
        from datetime import timedelta

        period = _sub(settlement, "ram:BillingSpecifiedPeriod")
        _date(period, "ram:StartDateTime", invoice.period_start)
        _date(period, "ram:EndDateTime", max(invoice.period_start, invoice.period_end - timedelta(days=1)))
    if invoice.due_date:
        terms = _sub(settlement, "ram:SpecifiedTradePaymentTerms")
        _date(terms, "ram:DueDateDateTime", invoice.due_date)
    totals = _sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(totals, "ram:LineTotalAmount", _amount(net, currency))
    _sub(totals, "ram:TaxBasisTotalAmount", _amount(net, currency))
    _sub(totals, "ram:TaxTotalAmount", _amount(tax, currency), currencyID=currency)
    _sub(totals, "ram:GrandTotalAmount", _amount(grand, currency))
    _sub(totals, "ram:DuePayableAmount", _amount(grand, currency))
    if invoice.credited_invoice_id:
        number = db.session.scalar(select(Invoice.number).where(Invoice.id == invoice.credited_invoice_id))
        if number:
            referenced = _sub(settlement, "ram:InvoiceReferencedDocument")
            _sub(referenced, "ram:IssuerAssignedID", number)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def embed_facturx(pdf: bytes, xml: bytes) -> bytes:
    """The PDF with ``factur-x.xml`` embedded (Factur-X EN16931, XSD-checked on the way)."""
    from facturx import generate_from_binary

    return generate_from_binary(pdf, xml, flavor="factur-x", level="en16931", check_xsd=True,
                                lang="en")


def invoice_xml(invoice_id: int) -> bytes:
    """The e-invoice XML of a finalized invoice of the current realm (served by the API)."""
    invoice = get_or_not_found(Invoice, invoice_id, "invoice")
    return facturx_xml(invoice, realm=db.session.get(Realm, require_realm_id()))
