from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from dishka import FromDishka
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, Operation, RequestBody
from litestar.params import Body, HeaderParameter, Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_202_ACCEPTED,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)

from domain.jobs.model import IDEMPOTENCY_KEY_PATTERN, FeedSignal, Job, JobStatus
from domain.jobs.use_cases.cancel_job import CancelJob
from domain.jobs.use_cases.get_job_result import GetJobResult
from domain.jobs.use_cases.launch_metric import Launched, LaunchMetric
from domain.jobs.use_cases.list_jobs import MAX_METRIC_LENGTH, MAX_PAGE, ListJobs
from domain.jobs.use_cases.list_metrics import ListMetrics
from domain.jobs.use_cases.rerun_job import RerunJob
from domain.jobs.use_cases.watch_jobs import WatchJobs
from entrypoints.http.errors import describe, problem_responses
from entrypoints.http.injection import inject
from entrypoints.http.revalidation import (
    caching_headers,
    job_response,
    not_modified_response,
)
from entrypoints.http.schemas import (
    JobResponse,
    JobsResponse,
    LaunchRequest,
    LaunchResponse,
    MetricResponse,
    MetricsResponse,
)
from entrypoints.http.streams import StreamSlots

JOB_ID = Parameter(
    description="The id `POST /launch` returned",
    examples=[Example(value="3b241101-e2bb-4255-8caf-4136c566a962")],
)

# A path parameter typed as a UUID would answer 404 for a malformed id; checked by pattern, a
# malformed id is a 400 naming `job_id`, as in the query string.
JOB_IN_PATH = Parameter(
    description="The id `POST /launch` returned",
    pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    examples=[Example(value="3b241101-e2bb-4255-8caf-4136c566a962")],
)


AB_TEST_EXAMPLE = {
    "metric": "ab_test",
    "params": {
        "table": "df_sales",
        "value": "price",
        "aggregate": "sum",
        "from_date": "2023-10-01",
        "to_date": "2023-12-31",
        "cuped": True,
    },
}

LAUNCH_BODY = Body(
    description="Optional. No body (or `null`): launch `calculate_metric`, as the brief's "
    "`/launch`. A JSON object `{metric, params}`: launch that metric with those parameters; "
    "`GET /launch/metrics` lists the metrics with the JSON Schema of their parameters. Only "
    "`application/json` is read (other media types are a 415).",
    examples=[
        Example(summary="An A/B test of revenue per user, with CUPED", value=AB_TEST_EXAMPLE),
        Example(summary="The brief's metric", value={"metric": "calculate_metric"}),
    ],
)


@dataclass
class OptionalBody(Operation):
    """Litestar marks every request body required; `POST /launch` works without one too."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


async def json_only(request: Request[Any, Any, Any]) -> None:
    """A body in another media type (a form, say) is refused rather than read as JSON. Run
    before the body is read (`before_request`; a guard would cost a copy of the route handler
    at every launch)."""
    declared = request.headers.get("content-type")
    if declared is not None and declared.split(";")[0].strip().lower() != "application/json":
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"The body must be application/json, not {declared}.",
        )


LAUNCH_HEADERS = [
    ResponseHeader(
        name="Location",
        description="Where the job's result will be: `/jobs/{job_id}`",
        documentation_only=True,
    ),
    ResponseHeader(
        name="Idempotent-Replayed",
        description="`true` when the `Idempotency-Key` was used before: the answer is the job "
        "launched then (status 200), and nothing new was queued",
        documentation_only=True,
        required=False,
    ),
]
REPLAYED_RESPONSE = {
    HTTP_200_OK: ResponseSpec(
        data_container=LaunchResponse,
        description="A replay: the `Idempotency-Key` was used before with the same request, "
        "and this is the job it launched (`Idempotent-Replayed: true`)",
        generate_examples=False,
    )
}


def launch_response(launched: Launched) -> Response[LaunchResponse]:
    job = launched.job
    headers = {"Location": f"/jobs/{job.id}"}
    if launched.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        LaunchResponse(job_id=job.id, status=job.status),
        status_code=HTTP_200_OK if launched.replayed else HTTP_202_ACCEPTED,
        headers=headers,
    )


class LaunchController(Controller):
    tags = ["jobs"]

    @post(
        "/launch",
        status_code=HTTP_202_ACCEPTED,
        summary="Launch a metric: calculate_metric, or the one the body names",
        operation_id="launchMetric",
        description=describe(LaunchMetric),
        responses=REPLAYED_RESPONSE | problem_responses(400, 401, 403, 415, 422, 429, 503),
        response_headers=LAUNCH_HEADERS,
        before_request=json_only,
        operation_class=OptionalBody,
    )
    @inject
    async def launch(
        self,
        launch_metric: FromDishka[LaunchMetric],
        data: Annotated[LaunchRequest | None, LAUNCH_BODY] = None,
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                pattern=IDEMPOTENCY_KEY_PATTERN,
                description="A key of your choosing: launching again with it returns the same job",
                examples=[Example(value="weekly-report-2024-06-03")],
            ),
        ] = None,
    ) -> Response[LaunchResponse]:
        if data is None:
            launched = await launch_metric(idempotency_key=idempotency_key)
        else:
            launched = await launch_metric(
                metric=data.metric, params=data.params, idempotency_key=idempotency_key
            )
        return launch_response(launched)

    @get(
        "/launch/metrics",
        summary="The metrics POST /launch can run, and their parameters",
        operation_id="listMetrics",
        description=describe(ListMetrics),
        responses=problem_responses(503),
    )
    @inject
    async def metrics(self, list_metrics: FromDishka[ListMetrics]) -> MetricsResponse:
        return MetricsResponse(metrics=[MetricResponse.of(m) for m in await list_metrics()])

    @get(
        "/get_result",
        summary="A job's status and result",
        operation_id="getResult",
        description=describe(GetJobResult),
        responses=not_modified_response() | problem_responses(400, 404, 503),
        response_headers=caching_headers(job=True),
    )
    @inject
    async def get_result(
        self,
        get_job_result: FromDishka[GetJobResult],
        job_id: Annotated[uuid.UUID, JOB_ID],
        request: Request[Any, Any, Any],
    ) -> Response[JobResponse]:
        job = await get_job_result(str(job_id))
        return job_response(job, request, lambda: JobResponse.of(job))


class JobsController(Controller):
    path = "/jobs"
    tags = ["jobs"]

    @get(
        summary="Recent jobs, newest first",
        operation_id="listJobs",
        description=describe(ListJobs),
        responses=problem_responses(400, 503),
    )
    @inject
    async def list_jobs(
        self,
        list_jobs: FromDishka[ListJobs],
        status: Annotated[
            list[JobStatus] | None,
            Parameter(
                description="Only jobs in these statuses (repeat it for several: "
                "`status=failed&status=cancelled`); all when absent",
                examples=[Example(value=["failed"])],
            ),
        ] = None,
        metric: Annotated[
            str | None,
            Parameter(
                min_length=1,
                max_length=MAX_METRIC_LENGTH,
                description="Only jobs of this metric",
                examples=[Example(value="ab_test")],
            ),
        ] = None,
        limit: Annotated[
            int,
            Parameter(ge=1, le=MAX_PAGE, description="Jobs per page", examples=[Example(value=20)]),
        ] = 20,
        cursor: Annotated[
            uuid.UUID | None,
            Parameter(
                description="`next_cursor` of the previous page",
                examples=[Example(value="3b241101-e2bb-4255-8caf-4136c566a962")],
            ),
        ] = None,
    ) -> JobsResponse:
        page = await list_jobs(
            limit=limit,
            cursor=str(cursor) if cursor else None,
            status=[s.value for s in status or ()],
            metric=metric,
        )
        return JobsResponse.of(page)

    @get(
        "/events",
        summary="Live job changes (Server-Sent Events)",
        operation_id="watchJobs",
        description=describe(WatchJobs)
        + "\n\nEvents: `sync` (data `{}`), then `job` (data: a job, as `GET /jobs/{job_id}`"
        " returns it) for each change; a comment line every 15 s while idle.",
        responses=problem_responses(429, 503),
        media_type="text/event-stream",
    )
    @inject
    async def events(
        self, watch_jobs: FromDishka[WatchJobs], request: Request[Any, Any, Any]
    ) -> ServerSentEvent:
        slots: StreamSlots = request.app.state.streams
        release = slots.take(request.client.host if request.client else "")
        try:
            changes = watch_jobs()
            # The first item is read here so that a feed that cannot start is a 503, not a
            # stream that breaks after its headers were sent.
            first = await anext(changes)
        except BaseException:
            release()
            raise

        async def messages() -> AsyncIterator[ServerSentEventMessage]:
            try:
                yield _message(first)
                async for item in changes:
                    yield _message(item)
            finally:
                release()
                if isinstance(changes, AsyncGenerator):
                    await changes.aclose()

        return ServerSentEvent(messages())

    @get(
        "/{job_id:str}",
        summary="A job's status and result",
        operation_id="getJob",
        description=describe(GetJobResult),
        responses=not_modified_response() | problem_responses(400, 404, 503),
        response_headers=caching_headers(job=True),
    )
    @inject
    async def get_job(
        self,
        get_job_result: FromDishka[GetJobResult],
        job_id: Annotated[str, JOB_IN_PATH],
        request: Request[Any, Any, Any],
    ) -> Response[JobResponse]:
        job = await get_job_result(job_id)
        return job_response(job, request, lambda: JobResponse.of(job))

    @post(
        "/{job_id:str}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel a job",
        operation_id="cancelJob",
        description=describe(CancelJob),
        responses=problem_responses(400, 401, 403, 404, 409, 415, 503),
    )
    @inject
    async def cancel(
        self, cancel_job: FromDishka[CancelJob], job_id: Annotated[str, JOB_IN_PATH]
    ) -> JobResponse:
        return JobResponse.of(await cancel_job(job_id))

    @post(
        "/{job_id:str}/rerun",
        status_code=HTTP_202_ACCEPTED,
        summary="Run a finished job again",
        operation_id="rerunJob",
        description=describe(RerunJob),
        responses=problem_responses(400, 401, 403, 404, 409, 429, 503),
        response_headers=LAUNCH_HEADERS[:1],
    )
    @inject
    async def rerun(
        self, rerun_job: FromDishka[RerunJob], job_id: Annotated[str, JOB_IN_PATH]
    ) -> Response[LaunchResponse]:
        return launch_response(await rerun_job(job_id))


def _message(item: Job | FeedSignal) -> ServerSentEventMessage:
    if item is FeedSignal.IDLE:
        return ServerSentEventMessage(comment="idle")
    if item is FeedSignal.SYNC:
        return ServerSentEventMessage(event="sync", data="{}")
    assert isinstance(item, Job)
    return ServerSentEventMessage(
        event="job", data=msgspec.json.encode(JobResponse.of(item)).decode()
    )
