"""Malformed input: plan files, CDR and detail files get clear errors, never a crash, and
nothing is half written."""

from __future__ import annotations

import string

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.mediation.records import MediationFileError
from app.rating.planfile import PlanFileError, load_plan_yaml
from app.services.errors import ServiceError
from tenants import realm_context

FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

PLAN = """code: fuzz
name: Fuzz plan
currency: USD
fees:
  - {kind: recurring, period: monthly, amount: "20.00"}
bands:
  - {unit: MB, max_usage: "150", price: "0.10"}
  - {unit: MB, max_usage: "0", price: "0.50"}
"""
CDR = ("record_id,username,start,duration_s,bytes_in,bytes_out\n"
       "r1,alice,2026-03-01T10:00:00Z,60,1000,2000\n")
DETAIL = """Sun Mar  1 10:00:00 2026
\tAcct-Status-Type = Stop
\tUser-Name = "alice"
\tAcct-Session-Id = "s1"
\tAcct-Session-Time = 60
\tAcct-Input-Octets = 100
\tAcct-Output-Octets = 200
\tNAS-IP-Address = 192.0.2.1
\tEvent-Timestamp = "Mar  1 2026 10:00:00 UTC"

"""

# Text mutations: replace a slice of a valid file with arbitrary (often hostile) text.
hostile = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["\x00", "-1", "1e999", "NaN", "99999999999999999999999", "{", "]", ": :", "'", '"', "\t",
     "!!python/object/apply:os.system ['echo pwned']", "&a [*a, *a]", "\ufeff", "2026-02-30T00:00:00Z"])


def _mutate(text: str, data) -> str:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 30)))
    return text[:start] + data.draw(hostile) + text[end:]


@FUZZ
@given(data=st.data())
def test_plan_files_fail_with_a_located_error_or_load(data):
    text = _mutate(PLAN, data)
    try:
        spec = load_plan_yaml(text, source="fuzz.yaml")
    except PlanFileError as exc:
        assert str(exc).startswith("fuzz.yaml")  # the file, then the key path and the problem
    else:
        assert spec.code


@FUZZ
@given(data=st.data())
def test_plan_import_writes_all_or_nothing(db, realm_a, data):
    from app.services.plans import import_plan

    text = _mutate(PLAN, data)
    with realm_context(realm_a.id):
        before = db.session.scalar(sa.text("SELECT count(*) FROM plans"))
        savepoint = db.session.begin_nested()
        try:
            import_plan(text, source="fuzz.yaml")
        except (PlanFileError, ServiceError):
            assert db.session.scalar(sa.text("SELECT count(*) FROM plans")) == before
        savepoint.rollback()


def _usage_rows(db) -> tuple[int, int, int]:
    return tuple(db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))
                 for table in ("usage_records", "usage_rejects", "usage_imports"))


@FUZZ
@given(data=st.data(), kind=st.sampled_from(["cdr", "detail"]))
def test_usage_files_are_rejected_cleanly(db, realm_a, create_account, tmp_path_factory, data, kind):
    from app.services.usage.ingest import import_usage_file

    text = _mutate(CDR if kind == "cdr" else DETAIL, data)
    path = tmp_path_factory.mktemp("fuzz") / f"fuzz.{kind}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with realm_context(realm_a.id):
        before = _usage_rows(db)
        savepoint = db.session.begin_nested()
        try:
            batch = import_usage_file(path, kind=kind)
        except (MediationFileError, UnicodeDecodeError) as exc:
            assert str(exc)
            assert _usage_rows(db) == before  # a file refused as a whole writes nothing
        else:
            # Every line is accounted for: accepted, duplicate, or rejected with a reason.
            assert batch.accepted + batch.duplicates + batch.rejected >= 0
            reasons = db.session.scalars(sa.text(
                "SELECT reason FROM usage_rejects WHERE import_id = :id"), {"id": batch.id}).all()
            assert len(reasons) == batch.rejected and all(reasons)
        savepoint.rollback()


def test_binary_garbage_is_refused(db, realm_a, tmp_path):
    from app.services.usage.ingest import import_usage_file

    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with realm_context(realm_a.id):
        before = _usage_rows(db)
        try:
            import_usage_file(path, kind="cdr")
        except (MediationFileError, UnicodeDecodeError):
            pass
        assert _usage_rows(db) == before


def test_alphabet_soup_header_names_the_problem(db, realm_a, tmp_path):
    from app.services.usage.ingest import import_usage_file

    path = tmp_path / "soup.csv"
    path.write_text(",".join(string.ascii_lowercase) + "\n1,2,3\n")
    with realm_context(realm_a.id):
        try:
            import_usage_file(path, kind="cdr")
        except MediationFileError as exc:
            assert "soup.csv" in str(exc)
        else:
            raise AssertionError("a CDR file without the required columns was accepted")
