"""Wholesale through the API: totals of the realms below, a realm's accounts."""


from app.services.billing.wholesale import bill_wholesale
from tenants import realm_context
from tests.billing.test_wholesale import visp  # noqa: F401 - the VISP fixture


def test_wholesale_through_the_api(db, provider_realm, realm_a, visp, api):  # noqa: F811
    client = api(provider_realm, host="localhost")
    rows = client.get("/wholesale?period=2026-10").get_json()["items"]
    assert [(r["slug"], r["billed"]) for r in rows if r["slug"] == "alpha"] == [("alpha", False)]
    live = client.get(f"/wholesale/{realm_a.id}?period=2026-10").get_json()
    assert {a["username"] for a in live["accounts"]} == {"ann", "ben"} and live["billed"] is False
    with realm_context(provider_realm.id):
        bill_wholesale(realm_a.id, "2026-10")
        db.session.commit()
    row = next(r for r in client.get("/wholesale?period=2026-10").get_json()["items"] if r["slug"] == "alpha")
    assert (row["billed"], row["total"], row["active_subscribers"]) == (True, "65.0000", 2)
    assert api(realm_a).get(f"/wholesale/{provider_realm.id}?period=2026-10").status_code == 404
    assert client.get("/wholesale?period=2026-13").status_code == 422
