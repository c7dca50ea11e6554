from __future__ import annotations

from pathlib import Path

from litestar import get
from litestar.datastructures import CacheControlHeader
from litestar.response import File

STATIC_DIR = Path(__file__).parents[1] / "static"


@get("/", include_in_schema=False, cache_control=CacheControlHeader(no_cache=True))
async def index() -> File:
    """The web page; its scripts and styles are under /static."""
    return File(
        STATIC_DIR / "index.html", content_disposition_type="inline", media_type="text/html"
    )
