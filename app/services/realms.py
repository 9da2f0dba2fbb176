"""Realm use cases: create a realm (a VISP), list realms, change branding."""

from __future__ import annotations

import re
import zoneinfo

from sqlalchemy import select

from app.extensions import db
from app.models import Realm, RealmDomain
from tenants import realm_context

from .errors import FieldErrors, NotFound

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
RESERVED_SLUGS = {"www", "api", "static", "admin", "mail"}
KNOWN_THEMES = ("default", "midnight")
SUPPORTED_CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY", "AUD", "CAD", "SEK", "NOK", "DKK")


def _check_common(errors: FieldErrors, *, currency, locale, timezone) -> None:
    if currency not in SUPPORTED_CURRENCIES:
        errors.add("currency", "unsupported")
    if locale not in ("en", "de"):
        errors.add("locale", "unsupported")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors.add("timezone", "unknown")


def create_realm(
    *,
    slug: str,
    name: str,
    parent_slug: str | None = None,
    currency: str = "USD",
    locale: str = "en",
    timezone: str = "UTC",
    domains: list[str] | tuple[str, ...] = (),
    theme: str = "default",
    owner: dict | None = None,
) -> Realm:
    """Create a realm; ``owner`` ({email, name, password}) also creates its first staff user."""
    slug = (slug or "").strip().lower()
    errors = FieldErrors()
    errors.require("slug", slug)
    errors.require("name", name)
    if slug and (not SLUG.match(slug) or slug in RESERVED_SLUGS):
        errors.add("slug", "invalid")
    elif slug and db.session.scalar(select(Realm.id).where(Realm.slug == slug)):
        errors.add("slug", "taken")
    parent = None
    if parent_slug:
        parent = db.session.scalar(select(Realm).where(Realm.slug == parent_slug))
        if parent is None:
            errors.add("parent", "not_found")
    if theme not in KNOWN_THEMES:
        errors.add("theme", "unknown")
    _check_common(errors, currency=currency, locale=locale, timezone=timezone)
    if owner is not None:
        from .staff import check_staff_fields

        check_staff_fields(
            errors, email=(owner.get("email") or "").strip().lower(),
            name=owner.get("name") or owner.get("email", ""),
            password=owner.get("password", ""), role="owner", prefix="owner_",
        )
    clean_domains = [d.strip().lower() for d in domains if d.strip()]
    for domain in clean_domains:
        if not DOMAIN.match(domain):
            errors.add("domains", "invalid")
        elif db.session.scalar(select(RealmDomain.id).where(RealmDomain.domain == domain)):
            errors.add("domains", "taken")
    errors.raise_if_any()

    realm = Realm(
        slug=slug, name=name.strip(), parent=parent, currency=currency, locale=locale,
        timezone=timezone, theme=theme,
        domains=[RealmDomain(domain=d) for d in clean_domains],
    )
    db.session.add(realm)
    db.session.flush()
    if owner is not None:
        from .staff import create_staff

        with realm_context(realm.id):
            create_staff(
                email=owner.get("email", ""), name=owner.get("name") or owner.get("email", ""),
                password=owner.get("password", ""), role="owner",
            )
    return realm


def get_realm(slug: str) -> Realm:
    realm = db.session.scalar(select(Realm).where(Realm.slug == slug))
    if realm is None:
        raise NotFound("realm")
    return realm


def list_realms() -> list[Realm]:
    return list(db.session.scalars(select(Realm).order_by(Realm.parent_id.is_not(None), Realm.slug)))


def set_owner_account(*, realm: Realm, account_id: int) -> None:
    """Make an account of the parent realm the VISP's owner (billed for wholesale)."""
    from app.models import Account

    if realm.parent_id is None:
        raise NotFound("parent realm")
    with realm_context(realm.parent_id):
        account = db.session.scalar(select(Account).where(Account.id == account_id))
    if account is None:
        raise NotFound("account")
    realm.owner_account_id = account.id
    db.session.flush()


def update_branding(
    realm: Realm,
    *,
    theme: str,
    primary_colour: str,
    secondary_colour: str,
    watermark: str | None,
    logo: bytes | None = None,
    logo_mime: str | None = None,
    remove_logo: bool = False,
) -> Realm:
    errors = FieldErrors()
    if theme not in KNOWN_THEMES:
        errors.add("theme", "unknown")
    for field, value in (("primary_colour", primary_colour), ("secondary_colour", secondary_colour)):
        if not COLOUR.match(value or ""):
            errors.add(field, "invalid_colour")
    if watermark and len(watermark) > 60:
        errors.add("watermark", "too_long")
    if logo is not None:
        if logo_mime not in ("image/png", "image/jpeg"):
            errors.add("logo", "png_or_jpeg")
        elif len(logo) > 512 * 1024:
            errors.add("logo", "too_large")
        elif not _looks_like_image(logo, logo_mime):
            errors.add("logo", "png_or_jpeg")
    errors.raise_if_any()
    realm.theme = theme
    realm.primary_colour = primary_colour.lower()
    realm.secondary_colour = secondary_colour.lower()
    realm.watermark = (watermark or "").strip() or None
    if remove_logo:
        realm.logo, realm.logo_mime = None, None
    elif logo is not None:
        realm.logo, realm.logo_mime = logo, logo_mime
    db.session.flush()
    return realm


def _looks_like_image(data: bytes, mime: str) -> bool:
    # Check the magic bytes: the upload's declared type alone is the client's word.
    if mime == "image/png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    return data.startswith(b"\xff\xd8\xff")
