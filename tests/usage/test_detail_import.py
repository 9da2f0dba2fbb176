"""A detail file written by a real FreeRADIUS, imported through the CLI on both databases."""

from pathlib import Path

from sqlalchemy import func, select

from app.models import RadiusSession, UsageRecord
from tenants import realm_context

DETAIL = Path(__file__).resolve().parents[1] / "mediation" / "data" / "detail-20261125"


def test_detail_import_via_cli_twice(app, db, create_realm, create_account):
    create_realm("provider", name="Provider")
    visp1 = create_realm("visp1", name="VISP 1", parent_slug="provider")
    for name in ("alice", "bob", "carol", "dave"):
        create_account(visp1, name)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["usage", "import", str(DETAIL), "--kind", "detail"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["usage", "import", str(DETAIL), "--kind", "detail"], catch_exceptions=False)
    assert " 0 accepted" in again.output
    with realm_context(visp1.id):
        stored = db.session.scalar(select(func.count()).select_from(UsageRecord))
        sessions = db.session.scalar(select(func.count()).select_from(RadiusSession))
    accepted = int(first.output.split(": ", 1)[1].split(" accepted")[0])
    assert stored == accepted and accepted > 0
    assert f"{accepted} duplicate" in again.output
    assert sessions >= 1
