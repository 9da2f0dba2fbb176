"""Helpers of the enforcement tests: RADIUS accounting packets, plans, lookups."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from app.mediation.radius_records import build_event
from app.models.enforcement import Enforcement
from app.models.events import Event
from app.services.enforcement import set_plan_enforcement
from app.services.plans import save_plan, spec_from_mapping
from app.services.usage.ingest import ingest
from tenants import realm_context

MB = 1_000_000
NOW = datetime.now(UTC).replace(microsecond=0)
# Half an hour ago, but never before this month began (pools, top-ups and checks use "now").
T0 = max(NOW - timedelta(minutes=30), NOW.replace(day=1, hour=0, minute=0, second=0))


def acct(status, seconds, octets_out, *, session="s-1", user="alice", nas_ip="127.0.0.1", ip="10.0.0.7"):
    attrs = {
        "Acct-Status-Type": status, "User-Name": user, "Acct-Session-Id": session,
        "NAS-IP-Address": nas_ip, "Framed-IP-Address": ip, "Acct-Session-Time": seconds,
        "Acct-Input-Octets": 0, "Acct-Output-Octets": octets_out,
    }
    return build_event(attrs, source="radius", received=T0 + timedelta(seconds=seconds))


def make_plan(policy, *, code="capped"):
    plan = save_plan(spec_from_mapping({
        "code": code, "name": code.title(), "currency": "USD",
        "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
        "bands": [{"unit": "MB", "max_usage": "0", "price": "0.01"}],
    }, source="test"), effective_from=date(2020, 1, 1))
    return set_plan_enforcement(plan.id, policy=policy, thresholds="80,100", cascade="",
                                rate_limit="10M/10M", shaped_rate_limit="1M/1M")


def feed(db, realm, *packets):
    with realm_context(realm.id):
        ingest(list(packets))
        db.session.commit()


def enforcement_of(db, realm):
    with realm_context(realm.id):
        rows = db.session.scalars(select(Enforcement)).all()
        assert len(rows) == 1, rows
        db.session.refresh(rows[0])
        return rows[0]


def events(db, realm, kind):
    with realm_context(realm.id):
        return db.session.scalar(select(func.count(Event.id)).where(Event.type == kind))
