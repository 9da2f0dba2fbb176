"""Shared fixtures.

The database-backed tests run once on SQLite and once on PostgreSQL (``app`` is
parametrized per session). The schema is built by the real Alembic migrations once per
database; each test runs inside an outer transaction with savepoints and is rolled back.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

os.environ.setdefault("REALMBILL_INSTANCE", tempfile.mkdtemp(prefix="realmbill-test-"))

PG_ADMIN_URL = os.environ.get("REALMBILL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TEST_KEY = "test-encryption-key-0123456789abcdef"

# Session fixtures for the real servers (one module per server under tests/servers/).
pytest_plugins = [
    "tests.servers.stripe_api",
    "tests.servers.smtp",
    "tests.servers.slapd",
    "tests.servers.sshd",
    "tests.servers.freeradius",
    "tests.servers.ftpd",
    "tests.servers.http_echo",
    "tests.servers.telnetd",
    "tests.servers.nas",
    "tests.servers.radius_listener",
]


def _pg_available() -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


def make_config(database_url: str, **overrides):
    from app.config import Config

    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "ENCRYPTION_KEYS": TEST_KEY,
        "REDIS_URL": None,
        "RATELIMIT_STORAGE_URI": "memory://",
        "JOBS_EAGER": True,
    }
    return Config(**{**settings, **overrides})


@pytest.fixture(scope="session")
def pg_database():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    import sqlalchemy as sa

    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432")
        pytest.skip("PostgreSQL is not reachable")
    name = f"realmbill_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin.dispose()


def _migrated_app(database_url: str):
    from flask_migrate import upgrade

    from app import create_app

    app = create_app(make_config(database_url))
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def app(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite'}"
    else:
        url = request.getfixturevalue("pg_database")
    application = _migrated_app(url)
    yield application
    with application.app_context():
        from app.extensions import db

        db.engine.dispose()


@pytest.fixture
def db(app):
    """The app's db, with every test rolled back at the end (commits become savepoints)."""
    from flask_sqlalchemy.session import Session as FlaskSession

    from app.extensions import db as _db

    class ConnectionBoundSession(FlaskSession):
        # Flask-SQLAlchemy picks its engine over a session-level bind; use the test's connection.
        def get_bind(self, *args, **kwargs):
            return self.bind

    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        original = _db.session
        _db.session = _db._make_scoped_session({
            "bind": connection, "join_transaction_mode": "create_savepoint",
            "class_": ConnectionBoundSession,
        })
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def committed_pg_app(pg_database):
    """A separate PostgreSQL database where threads really commit (no rollback fixture)."""
    from flask_migrate import upgrade

    from app import create_app

    base = pg_database.rsplit("/", 1)[0]
    name = f"realmbill_conc_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    app = create_app(make_config(f"{base}/{name}"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        from app.extensions import db as _db

        _db.engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


# ------------------------------------------------------------------ factories
@pytest.fixture
def create_realm(db):
    from app.services.realms import create_realm as _create_realm

    def factory(slug=None, *, owner_password="owner-password", **kwargs):
        slug = slug or f"r{uuid.uuid4().hex[:8]}"
        kwargs.setdefault("name", slug.title())
        owner = {"email": f"owner@{slug}.example", "name": "Owner", "password": owner_password}
        realm = _create_realm(slug=slug, owner=owner, **kwargs)
        db.session.commit()
        return realm

    return factory


@pytest.fixture
def provider_realm(create_realm):
    return create_realm("provider", name="Provider")


@pytest.fixture
def realm_a(create_realm, provider_realm):
    return create_realm("alpha", name="Alpha Net", parent_slug="provider")


@pytest.fixture
def realm_b(create_realm, provider_realm):
    return create_realm("bravo", name="Bravo Net", parent_slug="provider", theme="midnight")


@pytest.fixture
def create_account(db):
    from app.services.accounts import create_account as _create_account
    from tenants import realm_context

    def factory(realm, username=None, **kwargs):
        username = username or f"u{uuid.uuid4().hex[:8]}"
        kwargs.setdefault("name", username.title())
        with realm_context(realm.id):
            account = _create_account(username=username, **kwargs)
            db.session.commit()
            db.session.refresh(account)  # loaded now, so tests can read it outside the realm
        return account

    return factory


# ------------------------------------------------------------------ web
class RealmClient:
    """A test client bound to one realm host, knowing how to send CSRF tokens.

    Each request runs in a fresh thread, so it gets its own app context, ``g`` and
    session as in production, instead of sharing the test's (Flask reuses an app context
    already pushed, and Flask-Login caches the user in ``g``).
    """

    _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-request")

    TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')

    def __init__(self, app, host: str) -> None:
        self.client = app.test_client()
        self.base = f"https://{host}"
        self.host = host
        self._token: str | None = None

    def _run(self, method, *args, **kwargs):
        return self._pool.submit(method, *args, **kwargs).result()

    def get(self, path, **kwargs):
        return self._run(self.client.get, path, base_url=self.base, buffered=True, **kwargs)

    def token(self) -> str:
        if self._token is None:
            page = self.get("/login").get_data(as_text=True)
            match = self.TOKEN.search(page)
            assert match, "no CSRF token on the login page"
            self._token = match.group(1) or match.group(2)
        return self._token

    def post(self, path, data=None, *, csrf=True, htmx=False, **kwargs):
        data = dict(data or {})
        headers = dict(kwargs.pop("headers", {}))
        if csrf and htmx:
            headers["X-CSRFToken"] = self.token()
        elif csrf:
            data.setdefault("csrf_token", self.token())
        if htmx:
            headers["HX-Request"] = "true"
        # Browsers send a same-origin Referer (our Referrer-Policy); CSRF checks it over HTTPS.
        headers.setdefault("Referer", self.base + "/")
        return self._run(self.client.post, path, base_url=self.base, data=data, headers=headers,
                         buffered=True, **kwargs)

    def login_staff(self, email, password="owner-password"):
        response = self.post("/console/login", {"email": email, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        self._token = None  # the session changed; fetch a fresh token
        return response

    def login_subscriber(self, username, password):
        response = self.post("/login", {"username": username, "password": password})
        assert response.status_code == 303, response.status_code
        self._token = None
        return response


@pytest.fixture
def realm_client(app, db):
    from app.extensions import limiter

    limiter.reset()  # the limiter's memory outlives a test; each test starts with none used

    def factory(realm_or_host) -> RealmClient:
        host = realm_or_host if isinstance(realm_or_host, str) else f"{realm_or_host.slug}.localhost"
        return RealmClient(app, host)

    return factory


def pytest_sessionfinish(session, exitstatus):
    """Close what the session leaves open before pytest's final garbage collection.

    Apps built by tests cache Redis clients (workers/queues.py) and RQ keeps its own; their
    sockets are only closed by the collector after the last test, where pytest's -W error
    turns the ResourceWarning into a failed run although every test passed. Disconnect every
    pool still alive, then collect once with that warning ignored (only here, at the very end).
    """
    import gc
    import warnings

    try:
        from redis import ConnectionPool
    except ImportError:  # pragma: no cover
        ConnectionPool = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        if ConnectionPool is not None:
            for obj in gc.get_objects():
                if isinstance(obj, ConnectionPool):
                    obj.disconnect()
        gc.collect()
