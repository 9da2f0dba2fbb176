"""Cross-realm crawler: every route, called by realm A's staff and subscriber with realm B's ids.

Realm B gets one of everything the product keeps (accounts, plans, subscriptions, invoices,
usage, pools, NAS clients, and whatever each area seeds in ``seed_realm_b``), with every id
above a million so no id of realm A can be mistaken for one of B's. Then every rule of the
URL map is requested as realm A, with every id parameter filled with each of B's ids in
turn: each answer must be 403 or 404, no page may show B's marker text, and B's rows must be
exactly as before. The meta-test fails when a route is neither crawled nor exempted here.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tenants import realm_context

MARKER = "zzbravosecretzz"
ID_FLOOR = 1_000_000
# endpoint → why realm A's users are not crawled there (kept short and justified).
EXEMPT = {
    "static": "vendored files, no realm data",
}
NOT_ID_PARAMS = {"year", "month", "page", "step", "days"}


def _id_param(name: str) -> bool:
    return (name == "id" or name.endswith("_id")) and name not in NOT_ID_PARAMS


def _raise_sequences(db) -> None:
    """PostgreSQL: every table's next id is above ID_FLOOR (sequences are not rolled back,
    which is harmless: ids only need to be unique)."""
    for (sequence,) in db.session.execute(sa.text(
            "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'")):
        db.session.execute(sa.text(f"SELECT setval('{sequence}', GREATEST({ID_FLOOR}, "
                                   f"(SELECT last_value FROM \"{sequence}\")))"))


def seed_realm_b(db, realm) -> None:
    """One of everything in realm B, named with MARKER so leaks show in page text."""
    from app.models import Subscription
    from app.services.accounts import create_account, create_cost_centre
    from app.services.billing.run import start_billing_run
    from app.services.nas import add_nas
    from app.services.plans import save_plan, spec_from_mapping
    from app.services.quotas import create_pool

    with realm_context(realm.id):
        centre = create_cost_centre(code=f"{MARKER}cc", name=f"{MARKER} centre")
        plan = save_plan(spec_from_mapping({
            "code": f"{MARKER}-plan", "name": f"{MARKER} plan", "currency": realm.currency,
            "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
            "bands": [{"unit": "MB", "max_usage": "0", "price": "0.10"}],
        }, source="crawler"), effective_from=date(2026, 1, 1))
        account = create_account(username=f"{MARKER}user", name=f"{MARKER} Person",
                                 email=f"{MARKER}@bravo.example", password="bravo-password-1",
                                 cost_centre_id=centre.id)
        db.session.add(Subscription(account=account, plan_version=plan.latest_version,
                                    status="active", starts_on=date(2026, 1, 1), anchor_day=1))
        create_pool(name=f"{MARKER} pool", scope="account", unit="MB", size=Decimal("1000"),
                    anchor=date(2026, 1, 1), account_id=account.id)
        add_nas(name=f"{MARKER} nas", address="192.0.2.77", secret="bravo-nas-secret")
        db.session.flush()
        start_billing_run("2026-02")
        db.session.commit()


def _realm_rows(db, realm_id: int) -> dict[str, tuple[int, str]]:
    """Row count and content hash of every realm-owned table, for realm ``realm_id``."""
    from app.extensions import db as _db

    snapshot = {}
    for table in _db.metadata.sorted_tables:
        if "realm_id" not in table.c:
            continue
        rows = db.session.execute(
            sa.select(table).where(table.c.realm_id == realm_id).order_by(*table.primary_key.columns)
        ).all()
        digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
        snapshot[table.name] = (len(rows), digest)
    return snapshot


def _ids_of_realm(db, realm_id: int) -> dict[str, list[int]]:
    """Realm ``realm_id``'s ids, per table (and the realm's own id under "realms")."""
    from app.extensions import db as _db

    ids = {"realms": [realm_id]}
    for table in _db.metadata.sorted_tables:
        if "realm_id" in table.c and "id" in table.c:
            found = sorted(db.session.scalars(sa.select(table.c.id).where(table.c.realm_id == realm_id)))
            if found:
                ids[table.name] = found
    return ids


def _ids_for(param: str, ids_by_table: dict[str, list[int]]) -> list[int]:
    """B's ids for one parameter: those of the tables its name points at (``invoice_id`` →
    invoices, ``batch_id`` → voucher_batches), else every id of B."""
    stem = param[:-3] if param.endswith("_id") else param
    names = {stem, stem + "s", stem + "es", stem[:-1] + "ies"}
    matches = [ids for table, ids in ids_by_table.items()
               if table in names or any(table.endswith("_" + n) for n in names)]
    if matches:
        return sorted(set(itertools.chain.from_iterable(matches)))
    return sorted(set(itertools.chain.from_iterable(ids_by_table.values())))


def _rules(app, *, with_api=False):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT:
            continue
        if rule.rule.startswith("/api/") and not with_api:
            continue  # tests/api/ crawls these with realm A's API key (and has its own meta-test)
        yield rule


def _paths(app, rule, b_ids, b_slug):
    """Concrete paths for ``rule``: each id parameter takes each of B's ids (others fixed)."""
    id_params = [a for a in sorted(rule.arguments) if _id_param(a)]
    fixed = {a: _fixed_value(rule, a, b_slug) for a in rule.arguments if a not in id_params}
    adapter = app.url_map.bind("localhost")
    if not id_params:
        yield adapter.build(rule.endpoint, fixed, force_external=False), False
        return
    for combo in itertools.product(*(_ids_for(p, b_ids) for p in id_params)):
        yield adapter.build(rule.endpoint, {**fixed, **dict(zip(id_params, combo, strict=True))}), True


def _fixed_value(rule, name, b_slug):
    converter = rule._converters.get(name)
    kind = type(converter).__name__ if converter else "UnicodeConverter"
    if kind == "IntegerConverter":
        return 1
    if name in ("slug", "realm", "realm_slug"):
        return b_slug
    if kind == "PathConverter":
        return "x.css"
    return "x"


@pytest.fixture
def crawl_realms(app, db, realm_a, create_realm, create_account):
    if db.session.connection().dialect.name != "postgresql":
        pytest.skip("ids are spaced apart through PostgreSQL sequences; scoping is dialect-free")
    subscriber = create_account(realm_a, "crawler", password="alpha-password-1")
    _raise_sequences(db)
    realm_b = create_realm("bravo", name=f"Bravo {MARKER}", parent_slug="provider")
    seed_realm_b(db, realm_b)
    return realm_a, realm_b, subscriber


def _to_login(response) -> bool:
    """A redirect to a sign-in page: the route is for another kind of user (e.g. a
    subscriber asking for a console page), so it refuses before looking at any id."""
    location = response.headers.get("Location", "")
    return response.status_code in (302, 303) and location.split("?")[0].endswith("/login")


def _crawl(app, db, client, realm_b, who):
    b_ids = _ids_of_realm(db, realm_b.id)
    assert min(min(ids) for ids in b_ids.values()) >= ID_FLOOR
    before = _realm_rows(db, realm_b.id)
    problems = []
    for rule in _rules(app):
        for path, has_ids in _paths(app, rule, b_ids, realm_b.slug):
            # Routes without ids are read only: posting to them would act on realm A (log out,
            # create records there), which says nothing about realm B.
            methods = [m for m in ("GET", "POST") if m in rule.methods and (has_ids or m == "GET")]
            for method in methods:
                if method == "GET":
                    response = client.get(path)
                else:
                    response = client.post(path, {"name": "x", "amount": "1.00"})
                body = response.get_data()  # bytes: some answers are PDFs or CSV
                if response.status_code >= 500:
                    problems.append(f"{who} {method} {path}: {response.status_code}")
                elif has_ids and response.status_code not in (403, 404) and not _to_login(response):
                    problems.append(f"{who} {method} {path}: {response.status_code} with realm B's id")
                elif MARKER.encode() in body:
                    problems.append(f"{who} {method} {path}: shows realm B's data")
    db.session.expire_all()
    after = _realm_rows(db, realm_b.id)
    changed = sorted(name for name in before if before[name] != after.get(name))
    return problems, changed


def test_staff_of_realm_a_never_reach_realm_b(app, db, crawl_realms, realm_client):
    realm_a, realm_b, _ = crawl_realms
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    problems, changed = _crawl(app, db, client, realm_b, "staff")
    assert not problems, "\n".join(problems[:40])
    assert not changed, f"realm B's tables changed: {changed}"


def test_subscribers_of_realm_a_never_reach_realm_b(app, db, crawl_realms, realm_client):
    realm_a, realm_b, subscriber = crawl_realms
    client = realm_client(realm_a)
    client.login_subscriber("crawler", "alpha-password-1")
    problems, changed = _crawl(app, db, client, realm_b, "subscriber")
    assert not problems, "\n".join(problems[:40])
    assert not changed, f"realm B's tables changed: {changed}"


def test_every_route_is_crawled_or_exempted(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    stale = sorted(set(EXEMPT) - endpoints)
    assert not stale, f"exemptions for routes that no longer exist: {stale}"
    crawled = {rule.endpoint for rule in _rules(app, with_api=True)}
    assert crawled | set(EXEMPT) == endpoints
    # Every id-carrying route takes its ids from a parameter the crawler recognises.
    unnamed = sorted(rule.rule for rule in _rules(app)
                     for name in rule.arguments
                     if type(rule._converters[name]).__name__ == "IntegerConverter"
                     and not _id_param(name) and name not in NOT_ID_PARAMS)
    assert not unnamed, f"integer route parameters the crawler cannot classify: {unnamed}"


# ---------------------------------------------------------------- CSRF on every state change
CSRF_EXEMPT_PREFIXES = ("/api/", "/webhooks/", "/hooks/")


def test_every_state_changing_route_refuses_a_missing_csrf_token(app, db, realm_a, create_account,
                                                                realm_client):
    """Each POST/PUT/PATCH/DELETE rule, called by a signed-in owner without the token → 400
    before the view runs (so nothing changes), for forms and HTMX requests alike."""
    create_account(realm_a, "csrfcheck", password="alpha-password-1")
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    before = _realm_rows(db, realm_a.id)
    adapter = app.url_map.bind("localhost")
    problems = []
    for rule in _rules(app):
        unsafe = sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})
        if not unsafe:
            continue
        values = {a: 1 if type(rule._converters[a]).__name__ == "IntegerConverter" else "x"
                  for a in rule.arguments}
        path = adapter.build(rule.endpoint, values)
        if path.startswith(CSRF_EXEMPT_PREFIXES):
            continue
        for htmx in (False, True):
            response = client.post(path, {"name": "x"}, csrf=False, htmx=htmx)
            if response.status_code != 400:
                problems.append(f"POST {path} (htmx={htmx}) without a token: {response.status_code}")
    db.session.expire_all()
    assert not problems, "\n".join(problems)
    assert _realm_rows(db, realm_a.id) == before
