"""The login form the server shows instead of the page when a request is not authorised.

Self-contained HTML (its style allowed by a CSP hash, no script), so nothing else has to be
served before a login. It echoes nothing the client sent except the page to return to, and that
only as an escaped local path.
"""

from __future__ import annotations

import base64
import hashlib
import html

from aiohttp import web

LOGIN_STYLE = (
    "body{font:16px system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}"
    "main{max-width:26rem;margin:12vh auto;background:#fff;padding:2rem;border-radius:8px;"
    "box-shadow:0 1px 4px #0002}h1{font-size:1.3rem;margin-top:0}label{display:block;"
    "margin:1rem 0}input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;"
    "font:inherit}button{padding:.5rem 1.2rem;font:inherit}.error{color:#b00020}"
    "code{background:#eef;padding:0 .2rem}"
)
LOGIN_STYLE_HASH = base64.b64encode(hashlib.sha256(LOGIN_STYLE.encode()).digest()).decode()
LOGIN_CSP = (
    f"default-src 'none'; style-src 'sha256-{LOGIN_STYLE_HASH}'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
LOGIN_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ei_ingest dataset: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>{style}</style></head>
<body><main><h1>ei_ingest dataset</h1>
<p>This server listens on the network: log in with the project's API key (shown once when the
server made it, and kept in <code>keys.json</code> in its data directory).</p>
{message}<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>API key <input type="password" name="api_key" autocomplete="current-password" required
autofocus></label><button type="submit">Log in</button></form></main></body></html>
"""


def safe_next(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:500]


def login_page(request: web.Request, status: int = 200, message: str = "") -> web.Response:
    target = request.path_qs if request.path != "/login" else request.query.get("next")
    body = LOGIN_HTML.format(
        style=LOGIN_STYLE,
        message=f'<p class="error">{html.escape(message)}</p>' if message else "",
        next=html.escape(safe_next(target)),
    )
    response = web.Response(status=status, text=body, content_type="text/html")
    response.headers["Content-Security-Policy"] = LOGIN_CSP
    hardening_headers(response)
    return response


def hardening_headers(response: web.StreamResponse) -> None:
    """Headers every page and form response carries. Referrer-Policy is same-origin, not
    no-referrer: under no-referrer Chromium sends "Origin: null" with a form's POST, and the
    login's Origin check would refuse the form itself."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
