"""Themed rendering: one Jinja overlay environment per theme.

Each theme gets its own ``jinja_env.overlay`` with its own loader and template cache, so a
template compiled for one theme is never served to a realm using another. The loader chain
is: the theme's templates → the built-in templates. Console and provider templates are
looked up in the built-in templates only, so a theme cannot change the staff pages.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

from flask import Flask, current_app, g
from flask_babel import get_translations
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    TemplateNotFound,
    pass_eval_context,
)
from markupsafe import Markup

from .htmx import wants_fragment

THEMES_DIR = Path(__file__).resolve().parent.parent.parent / "themes"
PROTECTED_PREFIXES = ("console/", "provider/")


class _ThemeLoader(BaseLoader):
    def __init__(self, theme_dir: Path) -> None:
        self._files = FileSystemLoader(str(theme_dir / "templates"))

    def get_source(self, environment, template):
        if template.startswith(PROTECTED_PREFIXES):
            raise TemplateNotFound(template)
        return self._files.get_source(environment, template)


def available_themes() -> list[str]:
    return sorted(p.name for p in THEMES_DIR.iterdir() if (p / "templates").is_dir())


def theme_environment(theme: str) -> Environment:
    envs = current_app.extensions.setdefault("realmbill_theme_envs", {})
    env = envs.get(theme)
    if env is None:
        if theme not in available_themes():
            theme = "default"
        loader = ChoiceLoader([_ThemeLoader(THEMES_DIR / theme), current_app.jinja_env.loader])
        env = current_app.jinja_env.overlay(loader=loader)
        envs[theme] = env
    return env


def render(template: str, fragment: str | None = None, **context) -> str:
    """Render ``template`` in the current realm's theme.

    With ``fragment`` and a targeted HTMX request, only that template (a partial) is
    rendered, e.g. a table body for active search.
    """
    realm = g.get("realm")
    env = theme_environment(realm.theme if realm is not None else "default")
    name = fragment if (fragment and wants_fragment()) else template
    current_app.update_template_context(context)
    token = _translations.set(get_translations())
    try:
        return env.get_template(name).render(context)
    finally:
        _translations.reset(token)


# The request's translations, looked up once per page instead of once per ``_()`` (Flask-Babel
# finds them through g, the request and the locale selector on every call: a page has dozens).
_translations: ContextVar = ContextVar("realmbill_translations", default=None)


def _current_translations():
    translations = _translations.get()
    return translations if translations is not None else get_translations()


def install_page_gettext(app: Flask) -> None:
    """Jinja's ``_``/``gettext``/``ngettext`` through the page's translations (after Flask-Babel's
    own, which they replace; the overlay environments share these globals)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _current_translations().ugettext(s),
        ngettext=lambda s, p, n: _current_translations().ungettext(s, p, n),
        pgettext=lambda c, s: _current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _current_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals["_"] = page_gettext


@pass_eval_context
def page_gettext(eval_ctx, string: str, **variables) -> str:
    """``_()`` in templates, as Jinja's new-style gettext does it (the translation marked safe
    under autoescape, then ``%`` with the variables, which escapes them), in one call instead
    of three context-resolving ones: a page calls it dozens of times."""
    text = _current_translations().ugettext(string)
    if eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our own message catalogue, as Jinja's gettext does
    return text % variables
