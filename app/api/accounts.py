"""Accounts: list, get, create, update (scopes accounts:read / accounts:write)."""

from __future__ import annotations

from app.models import ACCOUNT_STATUSES
from app.services.accounts import create_account, get_account, list_accounts, update_account

from .registry import endpoint
from .schemas import DATETIME, ID, LIMIT, listing, nullable, obj, text

ACCOUNT = obj({
    "id": ID, "number": {"type": "string"}, "username": {"type": "string"}, "name": {"type": "string"},
    "email": nullable({"type": "string"}), "phone": nullable({"type": "string"}),
    "address": nullable({"type": "string"}), "status": {"type": "string", "enum": list(ACCOUNT_STATUSES)},
    "cost_centre_id": nullable(ID), "locale": nullable({"type": "string"}), "created_at": DATETIME,
}, ["id", "number", "username", "name", "status"], closed=False)

FIELDS = {
    "name": text(200, 1), "email": nullable(text(254)), "phone": nullable(text(40)),
    "address": nullable(text(2000)), "cost_centre_id": nullable(ID),
    "status": {"type": "string", "enum": list(ACCOUNT_STATUSES)},
}
CREATE = obj({**FIELDS, "username": text(64, 1), "password": nullable(text(200)),
              "locale": nullable({"type": "string", "enum": ["en", "de"]})}, ["username", "name"])
UPDATE = {**obj(FIELDS), "minProperties": 1}


def account_json(account) -> dict:
    return {
        "id": account.id, "number": account.number, "username": account.username, "name": account.name,
        "email": account.email, "phone": account.phone, "address": account.address,
        "status": account.status, "cost_centre_id": account.cost_centre_id, "locale": account.locale,
        "created_at": account.created_at.isoformat() if account.created_at else None,
    }


@endpoint("/accounts", summary="List accounts", scope="accounts:read", tag="accounts",
          query={"q": text(100), "limit": LIMIT}, response=listing(ACCOUNT))
def api_list_accounts(query):
    accounts = list_accounts(search=query.get("q"), limit=query.get("limit", 200))
    return {"items": [account_json(a) for a in accounts]}


@endpoint("/accounts/{account_id}", summary="Get an account", scope="accounts:read", tag="accounts",
          response=ACCOUNT)
def api_get_account(account_id):
    return account_json(get_account(account_id))


@endpoint("/accounts", "POST", summary="Create an account", scope="accounts:write", tag="accounts",
          request=CREATE, response=ACCOUNT, status=201,
          example={"username": "alice", "name": "Alice Example", "email": "alice@example.com"})
def api_create_account(body):
    account = create_account(
        username=body["username"], name=body["name"], email=body.get("email"),
        password=body.get("password"), phone=body.get("phone"), address=body.get("address"),
        cost_centre_id=body.get("cost_centre_id"), status=body.get("status", "active"),
        locale=body.get("locale"),
    )
    return account_json(account), 201


@endpoint("/accounts/{account_id}", "PATCH", summary="Change an account", scope="accounts:write",
          tag="accounts", request=UPDATE, response=ACCOUNT, example={"name": "Alice Renamed"})
def api_update_account(account_id, body):
    account = get_account(account_id)
    current = {"name": account.name, "email": account.email, "phone": account.phone,
               "address": account.address, "cost_centre_id": account.cost_centre_id,
               "status": account.status}
    values = {**current, **body}
    return account_json(update_account(account_id, **values))
