# syntax=docker/dockerfile:1

# Both stages start from the same image, so the virtual environment built in the first finds
# the same Python at the same path in the second.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=0
WORKDIR /app

# Dependencies first, in a layer of their own that changes only with uv.lock. The dev group
# (tests, linters) and the embedded group (servers for running without Docker) stay out.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --locked --no-dev --no-group embedded --no-install-project

# Then the project itself, as a regular (non-editable) package, so the venv needs no sources.
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-group embedded --no-editable


FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 experiments \
    && useradd --system --uid 10001 --gid experiments --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin experiments
WORKDIR /app
# Owned by root: the service reads its code and data, it never writes them.
COPY --from=builder /app/.venv /app/.venv
COPY data ./data
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/app/data
USER 10001:10001
EXPOSE 8000
CMD ["experiments", "api", "--host", "0.0.0.0", "--port", "8000"]
