"""How a realm checks its subscribers' self-care passwords.

``local`` (the default) verifies the stored argon2 hash. A realm may instead authenticate
against its own RADIUS server (a PAP Access-Request sent with pyrad; Access-Accept = signed
in) or an LDAP directory (a simple bind as the user's DN, built from a template with the
user name escaped; StartTLS or LDAPS with certificate validation). Either way the account
must exist in the realm and not be closed: the external system only vouches for the
password. The RADIUS shared secret is encrypted at rest and never shown back.
"""

from __future__ import annotations

import logging
import ssl
from urllib.parse import urlsplit

from sqlalchemy import select

from app.extensions import db
from app.models import Account
from app.models.provisioning import AUTH_METHODS, SubscriberAuth
from app.security.passwords import verify_password
from app.security.secrets import secret_box
from tenants import require_realm_id

from .errors import FieldErrors

log = logging.getLogger(__name__)

DEFAULT_RADIUS_PORT = 1812


def _secret_context(realm_id: int) -> str:
    return f"realm:{realm_id}:subscriber_auth.radius_secret"


def get_auth_settings() -> SubscriberAuth | None:
    return db.session.scalar(select(SubscriberAuth))


def auth_method() -> str:
    settings = get_auth_settings()
    return settings.method if settings is not None else "local"


def save_auth_settings(*, method: str, settings: dict | None = None, radius_secret: str | None = None) -> SubscriberAuth:
    """Store the realm's method. A blank ``radius_secret`` keeps the stored one."""
    realm_id = require_realm_id()
    settings = dict(settings or {})
    errors = FieldErrors()
    if method not in AUTH_METHODS:
        errors.add("method", "invalid")
    row = get_auth_settings()
    clean: dict = {}
    if method == "radius":
        host = (settings.get("host") or "").strip()
        errors.require("host", host)
        clean["host"] = host
        try:
            clean["port"] = int(settings.get("port") or DEFAULT_RADIUS_PORT)
            if not 1 <= clean["port"] <= 65535:
                raise ValueError
        except (TypeError, ValueError):
            errors.add("port", "invalid")
        try:
            clean["timeout"] = float(settings.get("timeout") or 3)
            if not 0 < clean["timeout"] <= 30:
                raise ValueError
        except (TypeError, ValueError):
            errors.add("timeout", "invalid")
        clean["nas_identifier"] = (settings.get("nas_identifier") or "realmbill").strip()[:64]
        if not radius_secret and not (row and row.secret_enc):
            errors.add("radius_secret", "required")
    elif method == "ldap":
        url = (settings.get("url") or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            errors.add("url", "invalid")
        template = (settings.get("user_dn_template") or "").strip()
        if "{username}" not in template:
            errors.add("user_dn_template", "invalid")
        clean.update(url=url, user_dn_template=template,
                     start_tls=bool(settings.get("start_tls")),
                     ca_file=(settings.get("ca_file") or "").strip() or None)
        if parts.scheme == "ldap" and not clean["start_tls"]:
            errors.add("start_tls", "required")  # never send passwords in the clear
    errors.raise_if_any()
    if row is None:
        row = SubscriberAuth(realm_id=realm_id)
        db.session.add(row)
    row.method = method
    row.settings = clean
    if method == "radius" and radius_secret:
        row.secret_enc = secret_box().encrypt(radius_secret, context=_secret_context(realm_id))
    elif method != "radius":
        row.secret_enc = None
    db.session.flush()
    return row


def authenticate(username: str, password: str) -> Account | None:
    """The account signing in, or None (wrong password, unknown, closed, server down)."""
    login = (username or "").strip().lower().split("@", 1)[0]
    account = db.session.scalar(select(Account).where(Account.username == login)) if login else None
    settings = get_auth_settings()
    method = settings.method if settings is not None else "local"
    if method == "local":
        ok = verify_password(account.password_hash if account else None, password or "")
    elif account is None or not password:
        ok = False
    elif method == "radius":
        ok = _radius_accepts(settings, account.username, password)
    else:
        ok = _ldap_binds(settings, account.username, password)
    if not ok or account is None or account.status == "closed":
        return None
    return account


def _radius_accepts(settings: SubscriberAuth, username: str, password: str) -> bool:
    from pyrad import packet
    from pyrad.client import Client, Timeout

    from app.mediation.radius_dictionary import load_dictionary

    conf = settings.settings or {}
    secret = secret_box().decrypt(settings.secret_enc, context=_secret_context(settings.realm_id))
    client = Client(server=conf["host"], authport=int(conf.get("port") or DEFAULT_RADIUS_PORT),
                    secret=secret.encode(), dict=load_dictionary(),
                    timeout=float(conf.get("timeout") or 3), retries=1)
    try:
        request = client.CreateAuthPacket(code=packet.AccessRequest, User_Name=username)
        request["User-Password"] = request.PwCrypt(password)
        request["NAS-Identifier"] = conf.get("nas_identifier") or "realmbill"
        reply = client.SendPacket(request)
        return reply.code == packet.AccessAccept
    except (Timeout, OSError) as exc:
        log.warning("RADIUS authentication server %s unreachable: %s", conf.get("host"), type(exc).__name__)
        return False
    finally:
        client._CloseSocket()


def _ldap_binds(settings: SubscriberAuth, username: str, password: str) -> bool:
    import warnings

    from ldap3 import NONE, Connection, Server, Tls
    from ldap3.core.exceptions import LDAPException
    from ldap3.utils.dn import escape_rdn

    conf = settings.settings or {}
    parts = urlsplit(conf["url"])
    use_ssl = parts.scheme == "ldaps"
    tls = Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT,
              ca_certs_file=conf.get("ca_file") or None)
    server = Server(parts.hostname, port=parts.port or (636 if use_ssl else 389), use_ssl=use_ssl,
                    tls=tls, connect_timeout=5, get_info=NONE)
    user_dn = conf["user_dn_template"].replace("{username}", escape_rdn(username))
    connection = Connection(server, user=user_dn, password=password, receive_timeout=5,
                            raise_exceptions=False)
    try:
        with warnings.catch_warnings():
            # ldap3 checks the host name with ssl.match_hostname (deprecated, still correct)
            warnings.filterwarnings("ignore", r"ssl\.match_hostname", DeprecationWarning)
            connection.open()
            if conf.get("start_tls") and not use_ssl and not connection.start_tls():
                return False
        return bool(connection.bind())
    except (LDAPException, ssl.SSLError, OSError) as exc:
        log.warning("LDAP authentication at %s failed: %s", parts.hostname, type(exc).__name__)
        return False
    finally:
        try:
            connection.unbind()
        except (LDAPException, OSError):
            pass
        sock = getattr(connection, "socket", None)
        if sock is not None:  # a broken TLS handshake leaves the socket open
            sock.close()
