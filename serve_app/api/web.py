"""The candidate's page: `/` serves index.html and `/static/{name}` its stylesheet and script.

Plain files from serve_app/web (no build step), read once per replica. Every URL the page uses is relative
to the page itself, so the app works under any route prefix. A prefix asked for without its trailing slash
(`/name`) matches no route and Starlette redirects it to `/name/`, where relative URLs resolve inside it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Response

from domain.errors import NotFound

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
STATIC_NAMES = frozenset({"app.js", "style.css"})  # served by name only: nothing else leaves the folder
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "connect-src 'self' ws: wss:",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate every time: a replica rolled out with a new app.js must not meet an old cached index.html.
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@cache
def web_file(name: str) -> bytes:
    return (WEB_DIR / name).read_bytes()


def page_file(name: str) -> Response:
    return Response(web_file(name), media_type=CONTENT_TYPES[Path(name).suffix], headers=SECURITY_HEADERS)


@router.get("/")
async def index() -> Response:
    return page_file("index.html")


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC_NAMES:
        raise NotFound("no such file")
    return page_file(name)
