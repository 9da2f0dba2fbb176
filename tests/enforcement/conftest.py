"""Fixtures of the enforcement tests."""

from datetime import date
from decimal import Decimal as D

import pytest

from app.models import Subscription
from app.services.nas import add_nas
from app.services.quotas import create_pool
from tenants import realm_context

from .helpers import make_plan


@pytest.fixture
def capped(db, realm_a, create_account, nas, app, monkeypatch):
    """alice in realm_a on a plan with a 1000 MB pool; the NAS is the simulator."""
    monkeypatch.setitem(app.config, "COA_TIMEOUT", 0.3)

    def build(policy="shape", *, nas_realm=None, users_file=None):
        account_id = create_account(realm_a, "alice", password="alice-password").id
        with realm_context(realm_a.id):
            plan = make_plan(policy)
            if users_file is not None:  # the plan's service is the FreeRADIUS users file
                from app.services.provisioning.modules import save_module

                plan.processing_module_id = save_module(
                    name="Users file", adapter="radius_file",
                    settings={"path": str(users_file), "plan_rate_limits": f"{plan.code}: 10M/10M"}).id
            db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                        status="active", starts_on=date(2020, 1, 1), anchor_day=1))
            pool_id = create_pool(name="Monthly", scope="account", account_id=account_id, unit="MB",
                                  size=D(1000), anchor=date(2020, 1, 1)).id
            db.session.commit()
        with realm_context((nas_realm or realm_a).id):
            add_nas(name="Simulator", address="127.0.0.1", secret=nas.secret, coa_port=nas.port)
            db.session.commit()
        return {"account": account_id, "pool": pool_id}

    return build
