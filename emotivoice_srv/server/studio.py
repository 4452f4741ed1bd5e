"""The web studio: one static page (HTML, CSS, plain JavaScript modules shipped in the package under
``emotivoice_srv/studio/``) served at ``/``, plus the few server facts it needs before any API key is
known (``/studio/config.json``). No build step and nothing from another origin: the page works offline
and behind a firewall. Every response carries a Content-Security-Policy that allows only same-origin
scripts, styles, images, media and connections (no inline script or style), so a text echoed into the
page can never run. ``--ui off`` leaves these routes out (``/`` is then a JSON 404).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..engine import PITCH_RANGE_ST, SPEED_RANGE
from ..prosody.emotion import EMOTIONS

if TYPE_CHECKING:
    from .context import ServerContext

STATIC_DIR = Path(__file__).resolve().parent.parent / "studio"
PREFIX = "/studio/"
ASSET_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


FAVICON = "/favicon.ico"
"""Browsers ask for it on every page of the origin (a JSON answer viewed in a tab included); served
from the studio's icon so it is neither a 404 nor, with API keys, a 401 in the console."""


def is_studio_path(path: str) -> bool:
    """Paths the page itself loads: open without an API key (the page asks for one; the API checks it)."""
    return path in ("/", FAVICON) or path.startswith(PREFIX)


def load_assets(directory: Path = STATIC_DIR) -> dict[str, tuple[bytes, str]]:
    """File name -> (bytes, content type), read once: a handful of small files, served from memory."""
    assets = {p.name: (p.read_bytes(), ASSET_TYPES[p.suffix]) for p in sorted(directory.iterdir())
              if p.suffix in ASSET_TYPES}
    if "index.html" not in assets:
        raise FileNotFoundError(f"the studio page is missing from {directory} (is the package installed whole?)")
    return assets


def page_config(ctx: ServerContext) -> dict:
    """What the page needs to draw its controls before it has an API key (nothing secret)."""
    limits = ctx.cloning_config.limits
    return {
        "version": __version__,
        "auth": bool(ctx.config.api_keys),
        "max_text_chars": ctx.first_engine.config.max_text_chars,
        "formats": list(ctx.config.formats),
        "sample_rate": ctx.sample_rate,
        "default_voice": ctx.config.default_voice,
        "emotions": list(EMOTIONS),
        "speed_range": list(SPEED_RANGE),
        "pitch_range": list(PITCH_RANGE_ST),
        "cloning": ctx.cloner is not None,
        "reference": {"min_s": limits.min_speech_s, "max_s": limits.max_speech_s, "max_bytes": limits.max_bytes},
    }


def studio_routes(ctx: ServerContext) -> list[Route]:
    assets = load_assets()

    def serve(name: str) -> Response:
        body, media_type = assets[name]
        return Response(body, media_type=media_type, headers=SECURITY_HEADERS)

    async def index(request: Request) -> Response:
        return serve("index.html")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets or name == "index.html":
            return JSONResponse({"error": {"code": "not_found", "message": f"no studio file {name!r}"}},
                                status_code=404, headers=SECURITY_HEADERS)
        return serve(name)

    async def config(request: Request) -> Response:
        return JSONResponse(page_config(ctx), headers=SECURITY_HEADERS)

    async def favicon(request: Request) -> Response:
        return serve("icon.svg")

    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route(FAVICON, favicon, methods=["GET", "HEAD"]),
        Route(PREFIX + "config.json", config, methods=["GET"]),
        Route(PREFIX + "{name}", asset, methods=["GET", "HEAD"]),
    ]
