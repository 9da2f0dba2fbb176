"""Who a usage record belongs to: by service username, or by IP address at the time.

``alice@visp1.example`` names realm ``visp1`` (a custom domain listed on the realm, or a
domain whose first label is the realm's slug) and account ``alice``; a bare ``alice``
belongs to the realm doing the import. Records that carry only an IP address belong to
the account whose RADIUS session held that address at the record's time. An import may
attribute to its own realm and the realms below it (a provider's listener serves its
VISPs), never to a sibling or parent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from app.extensions import db
from app.mediation.records import UsageEvent, split_username
from app.models import Account, RadiusSession, Realm, RealmDomain
from tenants import all_realms


class Unattributable(Exception):
    def __init__(self, code: str, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.code, self.reason, self.field = code, reason, field


class Attributor:
    def __init__(self, realm_id: int) -> None:
        with all_realms():
            realms = db.session.execute(select(Realm.id, Realm.slug, Realm.parent_id)).all()
            domains = db.session.execute(select(RealmDomain.domain, RealmDomain.realm_id)).all()
        children = defaultdict(list)
        for rid, _, parent in realms:
            children[parent].append(rid)
        allowed, todo = set(), [realm_id]
        while todo:
            current = todo.pop()
            allowed.add(current)
            todo.extend(children[current])
        self.realm_id = realm_id
        self.allowed = allowed
        self._by_slug = {slug: rid for rid, slug, _ in realms}
        self._by_domain = dict(domains)
        self._accounts: dict[tuple[int, str], int | None] = {}
        # username as written -> (realm id, account id), for the usernames already resolved.
        self._by_username: dict[str, tuple[int, int]] = {}
        self._postgres = db.session.connection().dialect.name == "postgresql"
        # ip -> [(started, stopped, realm id, account id)], newest first, for one batch.
        self._sessions: dict[str, list[tuple[datetime, datetime | None, int, int]]] = {}

    def forget_unknown(self) -> None:
        """Drop the names found to have no account, so a new batch looks them up again."""
        self._accounts = {key: value for key, value in self._accounts.items() if value is not None}

    def realm_of(self, realm_part: str | None) -> int:
        if realm_part is None:
            return self.realm_id
        realm_id = self._by_domain.get(realm_part) or self._by_slug.get(realm_part.split(".", 1)[0])
        if realm_id is None:
            raise Unattributable("unknown_realm", f"no realm for {realm_part!r}", "username")
        if realm_id not in self.allowed:
            raise Unattributable("foreign_realm", f"{realm_part!r} is not this realm's", "username")
        return realm_id

    def prefetch(self, events: Iterable[UsageEvent]) -> None:
        """Load the accounts (one query per realm) and IP sessions a batch names."""
        ips: set[str] = set()
        earliest = latest = None
        names: set[str] = set()
        for event in events:
            username = event.username
            if not username:
                if event.ip:
                    ips.add(event.ip)
                    moment = _moment(event)
                    earliest = moment if earliest is None or moment < earliest else earliest
                    latest = moment if latest is None or moment > latest else latest
                continue
            names.add(username)
        self._load_names(names)
        if ips:
            self._prefetch_sessions(ips, earliest, latest)

    def resolve_names(self, usernames: Iterable[str]) -> dict[str, tuple[int, int]]:
        """username as written -> (realm id, account id) for the names that have an account
        (the map shared across batches; names that do not resolve are left out, and
        :meth:`account_for` gives their reason)."""
        resolved = self._by_username
        todo = {name for name in usernames if name not in resolved}
        if not todo:
            return resolved
        if len(resolved) + len(todo) > 200_000:
            resolved.clear()
        self._load_names(todo)
        accounts = self._accounts
        for name in todo:
            try:
                user, realm_part = split_username(name)
                realm_id = self.realm_of(realm_part)
            except (ValueError, Unattributable):
                continue
            account_id = accounts.get((realm_id, user.lower()))
            if account_id is not None:
                resolved[name] = (realm_id, account_id)
        return resolved

    def _load_names(self, usernames: Iterable[str]) -> None:
        """Look up the accounts of names not looked up yet (one query per realm)."""
        wanted: dict[int, set[str]] = defaultdict(set)
        resolved = self._by_username
        for username in usernames:
            if username in resolved:
                continue
            try:
                user, realm_part = split_username(username)
                key = (self.realm_of(realm_part), user.lower())
            except (ValueError, Unattributable):
                continue
            if key not in self._accounts:
                wanted[key[0]].add(key[1])
        with all_realms():
            for realm_id, names in wanted.items():
                # PostgreSQL: one query with one array parameter (an IN list of hundreds of
                # parameters costs a parse each time, and once psycopg prepares it, a generic
                # plan that may scan the table); SQLite: IN lists of 500.
                size = len(names) if self._postgres else 500
                for chunk in _chunks(sorted(names), size):
                    names_in = (Account.username == any_(bindparam("names", chunk, type_=ARRAY(String)))
                                if self._postgres else Account.username.in_(chunk))
                    rows = db.session.execute(
                        select(Account.username, Account.id).where(Account.realm_id == realm_id, names_in)
                    ).all()
                    found = dict(rows)
                    for name in chunk:
                        self._accounts[(realm_id, name)] = found.get(name)

    def _prefetch_sessions(self, ips: set[str], earliest: datetime, latest: datetime) -> None:
        self._sessions = {ip: [] for ip in ips}
        size = len(ips) if self._postgres else 500
        with all_realms():
            for chunk in _chunks(sorted(ips), size):
                ips_in = (RadiusSession.framed_ip == any_(bindparam("ips", chunk, type_=ARRAY(String)))
                          if self._postgres else RadiusSession.framed_ip.in_(chunk))
                rows = db.session.execute(
                    select(RadiusSession.framed_ip, RadiusSession.started_at,
                           RadiusSession.stopped_at, RadiusSession.realm_id,
                           RadiusSession.account_id)
                    .where(
                        ips_in,
                        RadiusSession.realm_id.in_(self.allowed),
                        RadiusSession.started_at <= latest,
                        RadiusSession.stopped_at.is_(None) | (RadiusSession.stopped_at >= earliest),
                    )
                    .order_by(RadiusSession.started_at.desc())
                ).all()
                for ip, started, stopped, realm_id, account_id in rows:
                    self._sessions[ip].append((started, stopped, realm_id, account_id))

    def account_for(self, event: UsageEvent) -> tuple[int, int]:
        """(realm id, account id) of a record, or Unattributable."""
        if event.username:
            known = self._by_username.get(event.username)
            if known is not None:
                return known
            try:
                user, realm_part = split_username(event.username)
            except ValueError as exc:
                raise Unattributable("bad_username", str(exc), "username") from exc
            realm_id = self.realm_of(realm_part)
            key = (realm_id, user.lower())
            if key not in self._accounts:
                self.prefetch([event])
            account_id = self._accounts.get(key)
            if account_id is None:
                raise Unattributable("unknown_account", f"no account {user!r} in that realm", "username")
            if len(self._by_username) > 200_000:
                self._by_username.clear()
            self._by_username[event.username] = (realm_id, account_id)
            return realm_id, account_id
        if event.ip:
            return self._by_ip(event)
        raise Unattributable("no_subscriber", "neither username nor IP address", None)

    def _by_ip(self, event: UsageEvent) -> tuple[int, int]:
        if event.ip not in self._sessions:
            self.prefetch([event])
        moment = _moment(event)
        for started, stopped, realm_id, account_id in self._sessions.get(event.ip, ()):
            if started <= moment and (stopped is None or moment <= stopped):
                return realm_id, account_id
        raise Unattributable(
            "unknown_ip", f"no session held {event.ip} at {moment.isoformat()}", "ip"
        )


def _moment(event: UsageEvent) -> datetime:
    """When the record's address was in use: the start of the flow or call."""
    return event.start


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]
