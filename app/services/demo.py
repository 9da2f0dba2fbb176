"""The demo: a provider realm and two VISP realms with plans, accounts and cost centres,
usage, last month's invoices (billing runs started here, finished by the job runner),
voucher cards, and a wholesale plan under which the provider bills its VISPs.

Seeding is idempotent: a realm that already exists is left as it is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Realm, Subscription, UsageRecord
from tenants import realm_context

from .accounts import create_account, create_cost_centre
from .plans import save_plan, spec_from_mapping
from .realms import create_realm, set_owner_account

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed for the demo on purpose

PLANS = {
    "jet-mixed": {
        "code": "jet-mixed", "name": "Mixed time and traffic",
        "fees": [{"kind": "setup", "amount": "10.00"},
                 {"kind": "recurring", "period": "monthly", "amount": "20.00"}],
        "bands": [{"unit": "MB", "max_usage": "0", "price": "0.50"},
                  {"unit": "MB", "max_usage": "150", "price": "0.10"},
                  {"unit": "MB", "max_usage": "500", "price": "0.20"},
                  {"unit": "hour", "max_usage": "0", "price": "5.00"}],
    },
    "home-50": {
        "code": "home-50", "name": "Home 50 GB",
        "fees": [{"kind": "recurring", "period": "monthly", "amount": "29.00"}],
        "bands": [{"unit": "GB", "max_usage": "0", "price": "1.00"}],
        "quotas": [{"unit": "GB", "amount": "50"}],
    },
    "dialup": {
        "code": "dialup", "name": "Dial-up by the minute",
        "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
        "bands": [{"unit": "minute", "max_usage": "0", "price": "0.05"}],
    },
}

WHOLESALE_PLAN = {
    "code": "visp-wholesale", "name": "VISP wholesale access", "units": [{"name": "subscriber"}],
    "fees": [{"kind": "recurring", "period": "monthly", "amount": "50.00"}],
    "bands": [{"unit": "subscriber", "max_usage": "0", "price": "2.00"},
              {"unit": "GB", "max_usage": "100", "price": "0.10"},
              {"unit": "GB", "max_usage": "0", "price": "0.05"}],
}

REALMS = [
    # slug, name, parent, currency, locale, theme, plans, accounts
    ("provider", "Jet Internet", None, "USD", "en", "default", ["jet-mixed", "home-50", "dialup"],
     [("dave", "Dave Miller", "jet-mixed")]),
    ("visp1", "Alpen Net", "provider", "EUR", "de", "midnight", ["home-50", "dialup"],
     [("alice", "Alice Alpen", "home-50"), ("bob", "Bob Berg", "dialup")]),
    ("visp2", "Coastal Wireless", "provider", "USD", "en", "default", ["jet-mixed", "home-50"],
     [("carol", "Carol Coast", "jet-mixed")]),
]


def seed_demo() -> list[str]:
    """Create what is missing; returns the lines to print (logins, voucher cards)."""
    logins = []
    cards = []
    for slug, name, parent, currency, locale, theme, plan_codes, accounts in REALMS:
        realm = db.session.scalar(select(Realm).where(Realm.slug == slug))
        if realm is None:
            realm = create_realm(
                slug=slug, name=name, parent_slug=parent, currency=currency, locale=locale,
                theme=theme,
                owner={"email": f"admin@{slug}.example", "name": f"{name} admin",
                       "password": DEMO_PASSWORD},
            )
            with realm_context(realm.id):
                _seed_realm(realm, plan_codes, accounts)
                cards += [f"{slug}: voucher {serial} PIN {pin}" for serial, pin in _seed_activity()]
        logins.append(f"{slug}: console http://{slug}.localhost:5000/console/ "
                      f"admin@{slug}.example / {DEMO_PASSWORD}; self-care "
                      f"http://{slug}.localhost:5000/ {accounts[0][0]} / {DEMO_PASSWORD}")
    _link_visp_owners()
    _seed_wholesale()
    return logins + cards


def _seed_realm(realm: Realm, plan_codes: list[str], accounts) -> None:
    root = create_cost_centre(code="hq", name=f"{realm.name}")
    create_cost_centre(code="sales", name="Sales", parent_code=root.code)
    create_cost_centre(code="support", name="Support", parent_code=root.code)
    plans = {}
    for code in plan_codes:
        spec = spec_from_mapping({**PLANS[code], "currency": realm.currency}, source=f"demo:{code}")
        plans[code] = save_plan(spec, effective_from=date(2026, 1, 1))
    for username, full_name, plan_code in accounts:
        account = create_account(
            username=username, name=full_name, email=f"{username}@{realm.slug}.example",
            password=DEMO_PASSWORD, cost_centre_id=root.id,
        )
        db.session.add(Subscription(
            account=account, plan_version=plans[plan_code].latest_version, status="active",
            starts_on=date(2026, 1, 1), anchor_day=1,
        ))
    db.session.flush()


def _seed_activity() -> list[tuple[str, str]]:
    """Usage for every account over the last 45 days, last month's billing run, voucher cards."""
    from tenants import require_realm_id

    from .billing.run import start_billing_run
    from .usage.rollups import rebuild as rebuild_rollups
    from .vouchers import seed_demo_vouchers

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    subscriptions = db.session.scalars(select(Subscription)).all()
    for index, subscription in enumerate(subscriptions, 1):
        username = subscription.account.username
        for day in range(45):
            at = now - timedelta(days=day, hours=index)
            db.session.add(UsageRecord(
                account_id=subscription.account_id, source="cdr", status="cdr",
                source_record_id=f"demo-{username}-{day}", username=username, ip=f"100.64.0.{index}",
                event_time=at, start=at - timedelta(minutes=20 + day % 30),
                duration_s=(20 + day % 30) * 60, bytes_in=(day % 7 + 1) * 15_000_000 * index,
                bytes_out=(day % 5 + 1) * 4_000_000))
    db.session.flush()
    rebuild_rollups(require_realm_id())  # added directly, not through ingest: the reports read rollups
    first_of_month = now.date().replace(day=1)
    start_billing_run((first_of_month - timedelta(days=1)).strftime("%Y-%m"))
    _seed_payments()
    return seed_demo_vouchers()


def _seed_payments() -> None:
    """Online payment with the documented test cards, and a 10 GB top-up to buy."""
    from .payments.gateways import configure_gateway
    from .topups import save_product

    configure_gateway("test_card", enabled=True, settings={})
    save_product(code="10gb", name="10 GB extra traffic", kind="quota", price="5.00", unit="GB",
                 quantity="10")


def _seed_wholesale() -> None:
    """The provider bills each VISP under its wholesale plan (the scheduler does it monthly)."""
    from .billing.wholesale import agreements, set_wholesale_plan

    provider = db.session.scalar(select(Realm).where(Realm.parent_id.is_(None)))
    if provider is None:
        return
    with realm_context(provider.id):
        plan = None
        for visp in db.session.scalars(select(Realm).where(Realm.parent_id == provider.id)):
            if visp.id in agreements():
                continue
            if plan is None:
                plan = save_plan(spec_from_mapping({**WHOLESALE_PLAN, "currency": provider.currency},
                                                   source="demo:wholesale"), effective_from=date(2026, 1, 1))
            set_wholesale_plan(visp.id, plan_id=plan.id)
        db.session.flush()


def _link_visp_owners() -> None:
    """Each VISP is a customer of its parent realm: give it an owner account there."""
    for visp in db.session.scalars(select(Realm).where(Realm.parent_id.is_not(None))):
        if visp.owner_account_id is not None:
            continue
        with realm_context(visp.parent_id):
            owner = create_account(
                username=f"visp-{visp.slug}", name=visp.name,
                email=f"billing@{visp.slug}.example",
            )
        set_owner_account(realm=visp, account_id=owner.id)
