"""Self-care usage page: this period's usage, rated lines with explanations, pools left."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

from app.mediation.records import UsageEvent
from app.models import Subscription
from app.services.plans import save_plan, spec_from_mapping
from app.services.quotas import create_pool
from app.services.usage.ingest import ingest
from tenants import realm_context


def test_usage_page_shows_rating_explanations_and_pools(db, realm_a, create_account, realm_client):
    account_id = create_account(realm_a, "alice", password="alice-password").id
    today = datetime.now(UTC)
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping({
            "code": "home", "name": "Home", "currency": "USD",
            "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
            "bands": [{"unit": "MB", "max_usage": "0", "price": "0.01"}],
            "quotas": [{"unit": "MB", "amount": "100"}],
        }, source="test"), effective_from=date(2020, 1, 1))
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2020, 1, 1), anchor_day=1))
        create_pool(name="Bonus pool", scope="account", account_id=account_id, unit="MB",
                    size=D(50), anchor=date(2020, 1, 1))
        ingest([UsageEvent(source="cdr", source_record_id="u1", username="alice", ip=None, nas=None,
                           session_id=None, status="cdr", event_time=today, start=today,
                           duration_s=3600, bytes_in=0, bytes_out=300 * 10**6)])
        db.session.commit()
    client = realm_client(realm_a)
    client.login_subscriber("alice", "alice-password")
    html = client.get("/usage").get_data(as_text=True)
    assert "300.0 MB" in html
    assert "included quota: 100 of 100 MB at no charge" in html
    # 50 MB came from the pool as it arrived; the plan's 100 MB and then the band rate the rest.
    assert "covered by your quota pools: 50.00 MB" in html
    assert "band 1 (all MB): 150 MB x 0.01 = 1.50" in html
    assert "Bonus pool" in html and "0.00 MB" in html  # the 50 MB pool was drawn first
    assert "<svg" in html and "<rect" in html
