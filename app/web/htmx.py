"""HTMX conventions in one place.

A URL that can answer with a fragment or a whole page must say so to caches
(``Vary: HX-Request``). Boosted navigation and history restores send ``HX-Request`` too,
yet want the whole page, so ``wants_fragment`` only answers yes to a targeted request.
"""

from __future__ import annotations

from flask import Response, request


def wants_fragment() -> bool:
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def add_vary(response: Response) -> Response:
    response.vary.add("HX-Request")
    return response


def navigate(target: str) -> Response:
    """After a successful mutation: 303 for plain and boosted requests, HX-Location for
    targeted HTMX requests (the client then loads ``target`` as a boosted navigation)."""
    from flask import redirect

    if wants_fragment():
        response = Response(status=204)
        response.headers["HX-Location"] = target
        return add_vary(response)
    return add_vary(redirect(target, code=303))
