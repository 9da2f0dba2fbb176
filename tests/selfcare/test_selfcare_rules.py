"""Self-care rules without pages: password strength, session paging, display helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.services.selfcare import password_problems
from app.web.selfcare.routes import duration, megabytes
from tenants import realm_context


@pytest.mark.parametrize(("password", "problems"), [
    ("Short-1", ["too_short"]),
    ("onlyletterslong", ["too_weak"]),
    ("1234567890123", ["too_weak"]),
    ("my-sam-password-9", ["contains_username"]),
    ("Correct-horse-7", []),
    ("kein Ziffer aber Leerzeichen", []),
])
def test_password_strength_rule(password, problems):
    assert password_problems(password, username="sam") == problems


def test_display_helpers():
    assert duration(0) == "0:00:00" and duration(3725) == "1:02:05" and duration(None) == "0:00:00"
    assert megabytes(345_000_000) == "345.0" and megabytes(49_999) == "0.0" and megabytes(None) == "0.0"


def test_sessions_are_paged_newest_first_and_the_page_is_clamped(db, realm_a, create_account):
    from app.models import RadiusSession
    from app.services.selfcare import list_sessions

    account_id = create_account(realm_a, "pat").id
    now = datetime.now(UTC).replace(microsecond=0)
    with realm_context(realm_a.id):
        for n in range(30):
            db.session.add(RadiusSession(session_key=f"k{n}", account_id=account_id, nas="nas",
                                         framed_ip=f"10.0.0.{n}", started_at=now - timedelta(hours=n),
                                         last_event_at=now))
        db.session.commit()
        first = list_sessions(account_id, page=1)
        assert (first.total, first.pages, first.page) == (30, 2, 1)
        assert [s.framed_ip for s in first.sessions[:2]] == ["10.0.0.0", "10.0.0.1"]
        assert len(first.sessions) == 25
        last = list_sessions(account_id, page=99)
        assert last.page == 2 and [s.framed_ip for s in last.sessions][-1] == "10.0.0.29"
        assert list_sessions(account_id, page=-3).page == 1
