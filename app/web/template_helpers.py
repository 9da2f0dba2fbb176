"""Names every template can use: labels for codes, option lists, links to realms."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.services.realms import COLOUR

STATUS_LABELS = {
    "active": _l("active"),
    "suspended": _l("suspended"),
    "closed": _l("closed"),
    "ordered": _l("ordered"),
    "paid": _l("paid"),
    "in_progress": _l("in progress"),
    "cancelled": _l("cancelled"),
}
ROLE_LABELS = {
    "owner": _l("owner"),
    "admin": _l("admin"),
    "operator": _l("operator"),
    "finance": _l("finance"),
    "support": _l("support"),
}
RUN_STATUS_LABELS = {"running": _l("running"), "done": _l("done")}
INVOICE_STATUS_LABELS = {"draft": _l("draft"), "finalized": _l("finalized"), "void": _l("void")}
PERIOD_LABELS = {"monthly": _l("monthly"), "quarterly": _l("quarterly"), "annual": _l("annual")}
ACTOR_KIND_LABELS = {"staff": _l("staff"), "subscriber": _l("subscriber"), "api_key": _l("API key"),
                     "system": _l("system")}
AUDIT_ACTION_LABELS = {"create": _l("created"), "update": _l("changed"), "delete": _l("deleted")}
THEME_LABELS = {"default": _l("Daylight (default)"), "midnight": _l("Midnight (dark)")}


def dec(value, places: int = 2) -> str:
    """A Decimal quantity shown with ``places`` decimals (rounded half up, never via float)."""
    from decimal import ROUND_HALF_UP, Decimal

    return format(Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")


def money(amount, currency: str) -> str:
    """An amount with its currency's decimals (stored amounts may carry more zeros)."""
    from app.rating.money import quantize_money

    return f"{format(quantize_money(amount, currency), 'f')} {currency}"


def _report_catalogue(scope: str):
    from app.services.reports import catalogue

    return catalogue(scope)


def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))


def role_label(code: str) -> str:
    return str(ROLE_LABELS.get(code, code))


def status_options():
    return [(code, status_label(code)) for code in ("active", "suspended", "closed")]


def theme_options(themes):
    return [(name, str(THEME_LABELS.get(name, name))) for name in themes]


def period_options(periods):
    return [(p, str(PERIOD_LABELS.get(p, p))) for p in periods]


def cost_centre_options(nodes):
    return [(str(n.id), " / ".join(p.name for p in n.path())) for n in nodes]


def realm_options(realms):
    return [(r.slug, f"{r.name} ({r.slug})") for r in realms]


def currency_options(currencies):
    return [(c, c) for c in currencies]


def realm_url(realm) -> str:
    """The console address of another realm: <slug>.<base domain>, on this port."""
    port = request.host.partition(":")[2]
    host = f"{realm.slug}.{current_app.config['BASE_DOMAIN']}" + (f":{port}" if port else "")
    return f"{request.scheme}://{host}/console/"


def preview_colours_valid(primary: str, secondary: str) -> bool:
    return bool(COLOUR.match(primary or "") and COLOUR.match(secondary or ""))


# Page links by (script root, endpoint, arguments): the app has no URL defaults, host or
# subdomain rules, so a relative link is the same on every request; a page builds about twenty.
_LINKS: dict[tuple, str] = {}
_LINKS_LIMIT = 20_000


def page_url_for(endpoint: str, **values) -> str:
    """``url_for`` for templates, building each relative link once per process."""
    if endpoint.startswith(".") or any(name.startswith("_") for name in values) or not has_request_context():
        return url_for(endpoint, **values)  # relative to the blueprint, external, anchored, in a job...
    try:
        key = (request.script_root, endpoint, *sorted(values.items()))
        link = _LINKS.get(key)
    except TypeError:  # an unhashable argument (a list of values)
        return url_for(endpoint, **values)
    if link is None:
        if len(_LINKS) >= _LINKS_LIMIT:
            _LINKS.clear()
        link = _LINKS[key] = url_for(endpoint, **values)
    return link


def init_template_helpers(app: Flask) -> None:
    app.jinja_env.globals["url_for"] = page_url_for

    @app.context_processor
    def _helpers():
        realm = g.get("realm")
        is_provider = bool(
            realm is not None
            and realm.slug == app.config["DEFAULT_REALM"]
            and current_user.is_authenticated
            and getattr(current_user, "kind", "") == "staff"
            and current_user.can("manage_realm")
        )
        return {
            "current_locale": lambda: str(get_locale() or "en"),
            "format_date": format_date,
            "format_datetime": format_datetime,
            "report_catalogue": _report_catalogue,
            "actor_kind_label": lambda code: str(ACTOR_KIND_LABELS.get(code, code)),
            "audit_action_label": lambda code: str(AUDIT_ACTION_LABELS.get(code, code)),
            "status_label": status_label,
            "dec": dec,
            "money": money,
            "run_status_label": lambda code: str(RUN_STATUS_LABELS.get(code, code)),
            "invoice_status_label": lambda code: str(INVOICE_STATUS_LABELS.get(code, code)),
            "role_label": role_label,
            "status_options": status_options,
            "theme_options": theme_options,
            "period_options": period_options,
            "cost_centre_options": cost_centre_options,
            "realm_options": realm_options,
            "currency_options": currency_options,
            "realm_url": realm_url,
            "preview_colours_valid": preview_colours_valid,
            "is_provider_console": is_provider,
        }
