"""Locust users of the bounded load run (``bench/load.py``, ``tests/security/test_load_run.py``).

Run by locust as a subprocess, never imported by pytest (locust monkey-patches with gevent).
The environment names a JSON file of seeded realms (``LOAD_TARGETS``, the
``bench._common.SeededRealm`` fields) and where to write the summary (``LOAD_SUMMARY``):
requests, failures, 5xx answers, percentiles, and every usage record the API accepted
(so the caller can check the stored totals against what was sent).

Users: subscribers on the self-care pages (dashboard mostly), realm staff on the console
home and the usage-by-cost-centre report, API clients reading accounts/invoices/invoice
previews and sending usage batches (each batch sent twice: the replay must be all
duplicates). A page answered with anything but 200 (a redirect to sign-in included) is a
failure.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import uuid
from datetime import UTC, datetime

from locust import HttpUser, between, events, task

TARGETS = json.loads(open(os.environ["LOAD_TARGETS"]).read())  # noqa: SIM115
SUBSCRIBER_PASSWORD = os.environ.get("LOAD_SUBSCRIBER_PASSWORD", "")
STAFF_PASSWORD = os.environ.get("LOAD_STAFF_PASSWORD", "")
WAIT = float(os.environ.get("LOAD_WAIT", "0.2"))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_numbers = itertools.count()
STATE = {"5xx": 0, "sent": {}, "replay_mismatch": 0}


@events.request.add_listener
def _count_5xx(response=None, **_kwargs):
    if response is not None and getattr(response, "status_code", 0) >= 500:
        STATE["5xx"] += 1


@events.quitting.add_listener
def _write_summary(environment, **_kwargs):
    stats = environment.stats
    total = stats.total
    summary = {
        "requests": total.num_requests, "failures": total.num_failures, "errors_5xx": STATE["5xx"],
        "rps": total.total_rps, "replay_mismatch": STATE["replay_mismatch"],
        "p50_ms": total.get_response_time_percentile(0.5), "p95_ms": total.get_response_time_percentile(0.95),
        "p99_ms": total.get_response_time_percentile(0.99),
        "by_name": {f"{e.method} {e.name}": {"requests": e.num_requests, "failures": e.num_failures,
                                             "p95_ms": e.get_response_time_percentile(0.95)}
                    for e in stats.entries.values()},
        "failure_samples": [f"{f.method} {f.name}: {f.error} x{f.occurrences}" for f in stats.errors.values()][:10],
        "sent": STATE["sent"],
    }
    with open(os.environ["LOAD_SUMMARY"], "w") as handle:
        json.dump(summary, handle)


def _target():
    n = next(_numbers)
    return n, TARGETS[n % len(TARGETS)]


def _sign_in(client, path: str, fields: dict, host: str) -> None:
    client.headers["Host"] = host
    page = client.get(path, name=f"{path} (form)")
    match = CSRF.search(page.text)
    with client.post(path, data={**fields, "csrf_token": match.group(1) if match else ""},
                     allow_redirects=False, name=path, catch_response=True) as answer:
        if answer.status_code != 303:
            answer.failure(f"sign-in answered {answer.status_code}")


class _Pages(HttpUser):
    abstract = True
    wait_time = between(WAIT / 2, WAIT * 1.5)

    def page(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}")


class Subscriber(_Pages):
    weight = 4

    def on_start(self):
        n, realm = _target()
        username = realm["usernames"][(n // len(TARGETS)) % len(realm["usernames"])]
        _sign_in(self.client, "/login", {"username": username, "password": SUBSCRIBER_PASSWORD}, realm["host"])

    @task(6)
    def dashboard(self):
        self.page("/", "portal: dashboard")

    @task(1)
    def usage(self):
        self.page("/usage", "portal: usage")

    @task(1)
    def invoices(self):
        self.page("/invoices", "portal: invoices")


class Staff(_Pages):
    weight = 1

    def on_start(self):
        _, realm = _target()
        _sign_in(self.client, "/console/login", {"email": realm["staff_email"], "password": STAFF_PASSWORD},
                 realm["host"])

    @task(2)
    def home(self):
        self.page("/console/", "console: home")

    @task(1)
    def report(self):
        self.page("/console/reports/usage_cost_centres", "console: usage by cost centre")


class ApiClient(HttpUser):
    weight = 1
    wait_time = between(WAIT / 2, WAIT * 1.5)

    def on_start(self):
        n, self.realm = _target()
        self.client.headers.update({"Host": self.realm["host"], "Authorization": f"Bearer {self.realm['api_token']}"})
        self.serial = itertools.count()
        self.tag = uuid.uuid4().hex[:8]

    def get(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}")

    @task(2)
    def accounts(self):
        self.get("/api/v1/accounts", "api: accounts")

    @task(2)
    def invoices(self):
        self.get("/api/v1/invoices", "api: invoices")

    @task(1)
    def preview(self):
        account_id = self.realm["account_ids"][next(self.serial) % len(self.realm["account_ids"])]
        self.get(f"/api/v1/accounts/{account_id}/invoice-preview", "api: invoice preview")

    @task(2)
    def usage_batch(self):
        now = datetime.now(UTC).replace(microsecond=0).isoformat()
        records = []
        for k in range(10):
            serial = next(self.serial)
            records.append({"id": f"load-{self.tag}-{serial}", "event_time": now,
                            "username": self.realm["usernames"][serial % len(self.realm["usernames"])],
                            "duration_s": 60 + k, "bytes_in": 1000 + serial, "bytes_out": 10 * k})
        body = {"records": records}
        with self.client.post("/api/v1/usage/batch", json=body, name="api: usage batch",
                              catch_response=True) as answer:
            if answer.status_code != 200 or answer.json().get("accepted") != len(records):
                answer.failure(f"{answer.status_code} {answer.text[:200]}")
                return
        sent = STATE["sent"].setdefault(self.realm["slug"], {"records": 0, "bytes": 0, "seconds": 0})
        sent["records"] += len(records)
        sent["bytes"] += sum(r["bytes_in"] + r["bytes_out"] for r in records)
        sent["seconds"] += sum(r["duration_s"] for r in records)
        with self.client.post("/api/v1/usage/batch", json=body, name="api: usage batch (replay)",
                              catch_response=True) as answer:
            if answer.status_code != 200 or answer.json().get("duplicates") != len(records):
                STATE["replay_mismatch"] += 1
                answer.failure(f"replay {answer.status_code} {answer.text[:200]}")
