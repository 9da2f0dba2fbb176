"""Background jobs: RQ on the real Redis, the embedded fallback, and the scheduler."""

import os
import uuid

import pytest
import redis

from workers import scheduler
from workers.queues import enqueue

REDIS_URL = os.environ.get("REALMBILL_TEST_REDIS", "redis://127.0.0.1:6379/15")
CALLS = []


def record_call(value="tick"):
    """A job function: appends to a Redis list so the test can see the worker ran it."""
    redis.Redis.from_url(REDIS_URL).rpush("realmbill-test-calls", value)
    return value


@pytest.fixture
def redis_app(tmp_path):
    from app import create_app
    from tests.conftest import make_config

    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not reachable on 127.0.0.1:6379")
        pytest.skip("Redis is not reachable")
    connection.flushdb()
    app = create_app(make_config(f"sqlite:///{tmp_path / 'q.sqlite'}", REDIS_URL=REDIS_URL))
    yield app, connection
    connection.flushdb()
    connection.close()


def test_jobs_run_on_a_real_rq_worker(redis_app):
    from rq import SimpleWorker

    from workers.queues import get_queue

    app, connection = redis_app
    with app.app_context():
        job = enqueue(record_call, "hello", queue="billing", job_id="probe-1")
        again = enqueue(record_call, "hello", queue="billing", job_id="probe-1")
        assert again.id == job.id  # still queued: not enqueued twice
        SimpleWorker([get_queue("billing")], connection=connection).work(burst=True)
    assert connection.lrange("realmbill-test-calls", 0, -1) == [b"hello"]


def test_embedded_mode_runs_the_same_function(tmp_path, redis_app):
    from app import create_app
    from tests.conftest import make_config

    _, connection = redis_app
    app = create_app(make_config(f"sqlite:///{tmp_path / 'e.sqlite'}", JOBS_EAGER=False))
    with app.app_context():
        future = enqueue(record_call, "embedded")
        assert future.result(timeout=10) == "embedded"
    assert connection.lrange("realmbill-test-calls", 0, -1) == [b"embedded"]


def test_scheduler_enqueues_each_slot_once(redis_app, monkeypatch):
    from workers.queues import get_queue

    app, connection = redis_app
    name = f"probe-{uuid.uuid4().hex[:6]}"
    monkeypatch.setattr(scheduler, "TASKS", {})
    scheduler.periodic(name, every_seconds=60)(record_call)
    with app.app_context():
        first: dict[str, int] = {}
        second: dict[str, int] = {}  # a second scheduler process
        assert scheduler.tick(120.0, first) == 1
        assert scheduler.tick(150.0, first) == 0
        scheduler.tick(130.0, second)
        assert get_queue("default").count == 1
        assert scheduler.tick(181.0, first) == 1
        assert get_queue("default").count == 2
