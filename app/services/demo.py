"""The demo: a provider realm and two VISP realms with plans, accounts and cost centres.

Seeding is idempotent: a realm that already exists is left as it is. Later features add
their demo data (usage, invoices, vouchers) here.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import Realm, Subscription
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
    logins = []
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
        logins.append(f"{slug}: console http://{slug}.localhost:5000/console/ "
                      f"admin@{slug}.example / {DEMO_PASSWORD}; self-care "
                      f"http://{slug}.localhost:5000/ {accounts[0][0]} / {DEMO_PASSWORD}")
    _link_visp_owners()
    return logins


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
