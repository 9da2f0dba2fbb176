"""The realmbill command: realms, accounts, plan import/export and the demo seed."""

import textwrap

import pytest
import yaml
from sqlalchemy import func, select

from app.models import Account, Plan, Realm
from tenants import realm_context

PLAN = textwrap.dedent("""\
    code: jet-mixed
    name: Mixed time and traffic
    currency: USD
    fees:
      - {kind: setup, amount: "10.00"}
      - {kind: recurring, period: monthly, amount: "20.00"}
    bands:
      - {unit: MB,   max_usage: "0",   price: "0.50"}
      - {unit: MB,   max_usage: "150", price: "0.10"}
      - {unit: MB,   max_usage: "500", price: "0.20"}
      - {unit: hour, max_usage: "0",   price: "5.00"}
    quotas:
      - {unit: MB, amount: "0"}
""")


@pytest.fixture
def cli(app, db):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args), catch_exceptions=False)

    return invoke


def test_realm_create_and_list(cli, db, provider_realm):
    result = cli("realm", "create", "visp7", "--name", "VISP Seven", "--parent", "provider",
                 "--currency", "EUR", "--domain", "isp7.example")
    assert result.exit_code == 0, result.output
    listing = cli("realm", "list").output
    assert "visp7" in listing and "isp7.example" in listing
    bad = cli("realm", "create", "Not OK", "--name", "x")
    assert bad.exit_code == 1 and "slug: invalid" in bad.output


def test_account_create_and_list(cli, db, realm_a):
    result = cli("account", "create", "erin", "--realm", "alpha", "--name", "Erin E", "--password", "erin-password")
    assert result.exit_code == 0, result.output
    assert "erin" in cli("account", "list", "--realm", "alpha").output
    duplicate = cli("account", "create", "erin", "--realm", "alpha", "--name", "Erin E")
    assert duplicate.exit_code == 1 and "username: taken" in duplicate.output
    assert cli("account", "list", "--realm", "nosuch").exit_code == 1


def test_plan_import_export_round_trip(cli, db, realm_a, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    result = cli("plan", "import", str(path), "--realm", "alpha")
    assert result.exit_code == 0, result.output
    exported = cli("plan", "export", "jet-mixed", "--realm", "alpha").output
    assert yaml.safe_load(exported) == yaml.safe_load(PLAN)
    # Importing the same file again changes nothing (no new version).
    cli("plan", "import", str(path), "--realm", "alpha")
    with realm_context(realm_a.id):
        plan = db.session.scalar(select(Plan).where(Plan.code == "jet-mixed"))
        assert len(plan.versions) == 1
    # The plan belongs to alpha only.
    assert cli("plan", "export", "jet-mixed", "--realm", "bravo").exit_code == 1


def test_bad_plan_file_names_file_path_and_problem_and_imports_nothing(cli, db, realm_a, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(PLAN.replace('price: "0.20"', 'price: "abc"').replace("unit: hour", "unit: parsec")
                    + "colour: blue\n")
    result = cli("plan", "import", str(path), "--realm", "alpha")
    assert result.exit_code == 1
    assert str(path) in result.output
    assert "bands[2].price" in result.output
    assert "bands[3].unit" in result.output
    assert "colour" in result.output
    with realm_context(realm_a.id):
        assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_demo_seed_is_idempotent(cli, db):
    first = cli("demo", "seed")
    assert first.exit_code == 0, first.output
    assert "admin@visp1.example" in first.output
    second = cli("demo", "seed")
    assert second.exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(Realm)) == 3
    visp1 = db.session.scalar(select(Realm).where(Realm.slug == "visp1"))
    assert visp1.parent.slug == "provider" and visp1.owner_account_id is not None
    with realm_context(visp1.id):
        assert db.session.scalar(select(func.count()).select_from(Account)) == 2


def test_rate_json_follows_the_contract(cli, db, realm_a, tmp_path):
    import json

    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    result = cli("rate", "--plan-file", str(path), "--usage", "MB=700", "--usage", "hour=3", "--json")
    assert result.exit_code == 0, result.output
    quote = json.loads(result.output)
    assert quote["currency"] == "USD" and quote["total"] == "220.00"
    usage = [(line["band"], line["unit"], line["units"], line["price"], line["amount"])
             for line in quote["lines"] if line["kind"] == "usage"]
    assert usage == [(2, "MB", "150", "0.10", "15.00"), (3, "MB", "350", "0.20", "70.00"),
                     (1, "MB", "200", "0.50", "100.00"), (4, "hour", "3", "5.00", "15.00")]
    from decimal import Decimal
    assert sum(Decimal(line["amount"]) for line in quote["lines"]) == Decimal(quote["total"])
    with_setup = json.loads(cli("rate", "--plan-file", str(path), "--with-setup", "--json").output)
    assert with_setup["total"] == "30.00"
    # A stored plan, and the human table.
    cli("plan", "import", str(path), "--realm", "alpha")
    table = cli("rate", "--plan", "jet-mixed", "--realm", "alpha", "--usage", "MB=700").output
    assert "band 1 (above 500 MB): 200 MB x 0.50 = 100.00" in table and "205.00 USD" in table
    assert cli("rate", "--plan-file", str(path), "--usage", "MB=abc").exit_code == 1
