"""HTTP revalidation: strong ETags from what a response is made of, and 304 Not Modified.

An ETag here is computed from the data a body is built from (a table's version and the
parsed query, the tables' versions and states, a job's revision), never from the body, so
that answering `If-None-Match` with 304 encodes nothing. Cache-Control, by resource:

- `/logs` and `/tables`: `no-cache`. A client (or proxy) may keep the body but asks every
  time; a reload is seen at once, and an unchanged page costs a 304 without a body.
- A finished job: `max-age=86400, immutable`. Its state is final (no transition leaves one),
  so a copy cannot go stale; the day bounds what a later retention of old jobs would leave in
  caches.
- A queued or running job: `no-store`, and no ETag. Its progress changes every 2% of its run;
  `GET /jobs/events` is the way to follow it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from domain.jobs.model import Job
from domain.tables.logs import LogPage, page_identity
from domain.tables.model import TableStatus

T = TypeVar("T")

REVALIDATE: Final = "no-cache"
FINAL: Final = "max-age=86400, immutable"
NO_STORE: Final = "no-store"

GENERATION: Final = "1"
"""Part of every ETag: bump it when a release changes how a resource is written, so that no
client keeps a copy in the old form."""

_ENTITY_TAG = re.compile(r'(?:W/)?"([^"]*)"')


def not_modified_response() -> dict[int, ResponseSpec]:
    return {
        HTTP_304_NOT_MODIFIED: ResponseSpec(
            data_container=None,
            description="Not modified: the request's `If-None-Match` names the current "
            "`ETag`, so the copy the client has is current; no body",
            generate_examples=False,
        )
    }


def caching_headers(*, job: bool = False) -> list[ResponseHeader]:
    """OpenAPI descriptions of the Cache-Control and ETag headers of an operation."""
    if job:
        control = f"`{FINAL}` once the job is finished, `{NO_STORE}` while it is queued or running"
        tag = "A strong validator, for a finished job only: send it back as `If-None-Match`"
    else:
        control = f"`{REVALIDATE}`: keep a copy if you like, but revalidate it every time"
        tag = "A strong validator of this answer: send it back as `If-None-Match`"
    return [
        ResponseHeader(name="Cache-Control", description=control, documentation_only=True),
        ResponseHeader(name="ETag", description=tag, documentation_only=True),
    ]


def entity_tag(kind: str, *parts: object) -> str:
    text = "\x1f".join([GENERATION, *(str(part) for part in parts)])
    return f'"{kind}-{hashlib.blake2b(text.encode(), digest_size=16).hexdigest()}"'


def logs_tag(page: LogPage) -> str:
    """From the page's version and query, and the failure of a reload it tells of."""
    failure = page.reload_failure
    return entity_tag("logs", page_identity(page.table, page.query), failure)


def tables_tag(statuses: Sequence[TableStatus]) -> str:
    """From what `/tables` shows of each table: its state, file, loaded version and error.
    A touched file (new stat, same content) changes none of it."""
    parts: list[object] = []
    for status in statuses:
        loaded = status.loaded
        parts += [
            status.name,
            status.state,
            status.source.file_name if status.source else None,
            None
            if loaded is None
            else (loaded.version, loaded.loaded_at, loaded.fingerprint.sha256),
            status.error.message if status.error else None,
        ]
    return entity_tag("tables", *parts)


def job_tag(job: Job) -> str:
    return entity_tag("job", job.id, job.revision)


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an `If-None-Match` value says the client's copy is current: it names `tag`, or
    is `*`. The comparison is the weak one (RFC 9110, 13.1.2): a `W/` prefix does not matter."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return tag.strip('"') in _ENTITY_TAG.findall(if_none_match)


def if_none_match(request: Request[Any, Any, Any]) -> str | None:
    """The request's `If-None-Match`, several joined by commas (RFC 9110, 5.3), read from the
    raw headers: Litestar's parsed ones cost a dictionary of every header, on every request."""
    values = [value for name, value in request.scope["headers"] if name.lower() == b"if-none-match"]
    return b", ".join(values).decode("latin-1") if values else None


def revalidated(
    request: Request[Any, Any, Any],
    tag: str,
    cache_control: str,
    body: Callable[[], T],
    *,
    headers: Mapping[str, str] | None = None,
) -> Response[T]:
    """304 without a body when the client's copy is current, else 200 with `body()`; both
    carry the ETag and Cache-Control (as RFC 9110 asks of a 304) and `headers`."""
    headers = {**(headers or {}), "ETag": tag, "Cache-Control": cache_control}
    if matches(if_none_match(request), tag):
        return Response(content=None, status_code=HTTP_304_NOT_MODIFIED, headers=headers)  # type: ignore[arg-type]
    return Response(body(), headers=headers)


def job_response(job: Job, request: Request[Any, Any, Any], body: Callable[[], T]) -> Response[T]:
    if job.status.is_final:
        return revalidated(request, job_tag(job), FINAL, body)
    return Response(body(), headers={"Cache-Control": NO_STORE})
