"""``realmbill provision``: list operations, restart them, check a module."""

import json

import pytest

from app.services.provisioning.services import mark_paid, order_service
from tenants import realm_context


@pytest.fixture
def cli(app, db):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args), catch_exceptions=False)

    return invoke


def test_list_retry_and_check(cli, db, realm_a, create_account, backend, provisioned_plan):
    backend.fail()
    account = create_account(realm_a, "zoe")
    with realm_context(realm_a.id):
        service = order_service(account_id=account.id, plan_id=provisioned_plan["plan"])
        mark_paid(service.id)
        db.session.commit()
    listing = cli("provision", "operations", "--realm", "alpha", "--json")
    assert listing.exit_code == 0, listing.output
    [row] = json.loads(listing.output)
    assert row["status"] == "failed" and row["account"] == "zoe" and "backend down" in row["last_error"]
    backend.fail(False)
    retried = cli("provision", "retry", "--realm", "alpha", str(row["id"]))
    assert retried.exit_code == 0, retried.output
    assert "1 operation(s) queued" in retried.output
    assert json.loads(cli("provision", "operations", "--realm", "alpha", "--json").output) == []
    assert backend.state("zoe")["status"] == "active"
    assert cli("provision", "retry", "--realm", "alpha", "999999").exit_code == 1
    check = cli("provision", "check", "--realm", "alpha", "Local users")
    assert check.exit_code == 0 and check.output.startswith("ok")
    assert cli("provision", "check", "--realm", "alpha", "Nope").exit_code == 1
