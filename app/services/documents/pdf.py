"""PDF rendering with xhtml2pdf from Jinja templates of the realm's theme.

Templates live in ``themes/<theme>/templates/documents/`` and fall back to
``themes/default/templates/documents/``. Each theme has one Jinja environment (an overlay
of the app's, so ``_()`` and filters work) with its own template cache, kept for the life
of the process: a template compiled for one theme is never served to another. The realm's
branding (logo as a data URI, colours, watermark) is added to every context, and the text
is rendered in the realm's language. No resource is ever fetched over the network: the
link callback only resolves ``data:`` URIs and files inside the theme folders.
"""

from __future__ import annotations

import base64
import hashlib
import io
from functools import lru_cache
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from werkzeug.security import safe_join

THEMES_DIR = Path(__file__).resolve().parents[3] / "themes"


class RenderFailed(Exception):
    """xhtml2pdf reported errors for a document."""


def _theme_names() -> set[str]:
    return {p.name for p in THEMES_DIR.iterdir() if (p / "templates").is_dir()}


def document_environment(theme: str) -> Environment:
    """The Jinja environment for documents in ``theme`` (cached per app and theme)."""
    envs = current_app.extensions.setdefault("realmbill_document_envs", {})
    env = envs.get(theme)
    if env is None:
        name = theme if theme in _theme_names() else "default"
        loaders = [FileSystemLoader(str(THEMES_DIR / name / "templates"))]
        if name != "default":
            loaders.append(FileSystemLoader(str(THEMES_DIR / "default" / "templates")))
        env = current_app.jinja_env.overlay(loader=ChoiceLoader(loaders), cache_size=400, auto_reload=False)
        envs[theme] = env
    return env


@lru_cache(maxsize=256)
def _data_uri(digest: str, mime: str, content: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


def data_uri(content: bytes | None, mime: str | None) -> str | None:
    if not content:
        return None
    return _data_uri(hashlib.sha256(content).hexdigest(), mime or "image/png", content)


def branding(realm) -> dict:
    return {
        "name": realm.name,
        "primary": realm.primary_colour or "#1f5fbf",
        "secondary": realm.secondary_colour or "#f2f5fa",
        "watermark": realm.watermark,
        "logo": data_uri(realm.logo, realm.logo_mime),
        "footer": realm.invoice_footer,
        "theme": realm.theme,
    }


def _link_callback(uri: str, rel: str) -> str:
    """Resolve only data URIs and theme static files; anything else resolves to nothing."""
    if uri.startswith("data:"):
        return uri
    if uri.startswith("theme:"):
        theme, _, filename = uri[len("theme:"):].partition("/")
        if theme in _theme_names():
            path = safe_join(str(THEMES_DIR / theme / "static"), filename)
            if path and Path(path).is_file():
                return path
    return ""


def render_html(template_name: str, context: dict, *, realm) -> str:
    """The document's HTML (also used for the live preview in the console)."""
    env = document_environment(realm.theme or "default")
    if not template_name.startswith("documents/"):
        template_name = f"documents/{template_name}"
    template = env.get_template(template_name)
    full = {"realm": realm, "brand": branding(realm), **context}
    with force_locale(realm.locale or "en"):
        current_app.update_template_context(full)
        return template.render(full)


def html_to_pdf(html: str) -> bytes:
    from xhtml2pdf import pisa

    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8", link_callback=_link_callback)
    if result.err:
        raise RenderFailed(f"{result.err} error(s) rendering the PDF")
    return out.getvalue()


def render_pdf(template_name: str, context: dict, *, realm) -> bytes:
    """Render ``documents/<template_name>`` of the realm's theme to PDF bytes."""
    return html_to_pdf(render_html(template_name, context, realm=realm))


def render_pdf_batch(template_name: str, contexts: list[dict], *, realm) -> list[bytes]:
    """Render many documents of one realm in one xhtml2pdf pass, then split them.

    The page layout, styles, footer and watermark are parsed once for the whole batch
    (they depend on the realm only); each document's ``content`` block starts on a new
    page with its title heading (``h1.doc-start``, the only outline entry), and the PDF is
    cut at those outline entries into one PDF each, looking exactly like single renders.
    """
    if len(contexts) <= 1:
        return [render_pdf(template_name, c, realm=realm) for c in contexts]
    from pypdf import PdfReader, PdfWriter

    env = document_environment(realm.theme or "default")
    if not template_name.startswith("documents/"):
        template_name = f"documents/{template_name}"
    template = env.get_template(template_name)
    brand = branding(realm)
    with force_locale(realm.locale or "en"):
        full = [{"realm": realm, "brand": brand, **c} for c in contexts]
        first = template.render(full[0])
        rest = ["".join(template.blocks["content"](template.new_context(c))) for c in full[1:]]
    head, _, tail = first.rpartition("</body>")
    html = head + "".join(f"<pdf:nextpage />{body}" for body in rest) + "</body>" + tail
    reader = PdfReader(io.BytesIO(html_to_pdf(html)))
    # Each document's title heading (class doc-start) is the only outline entry it makes.
    outline = [entry for entry in reader.outline if not isinstance(entry, list)]
    if len(outline) != len(contexts):
        return [render_pdf(template_name, c, realm=realm) for c in contexts]
    starts = [reader.get_destination_page_number(entry) for entry in outline]
    ends = [*starts[1:], len(reader.pages)]
    documents = []
    for start, end in zip(starts, ends, strict=True):
        writer = PdfWriter()
        for page in reader.pages[start:end]:
            writer.add_page(page)
        writer.add_metadata({"/Producer": "Realmbill"})
        out = io.BytesIO()
        writer.write(out)
        documents.append(out.getvalue())
    return documents
