"""compose.yaml, the Dockerfile and .dockerignore, checked statically (no Docker engine needed)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import click
import jsonschema
import pytest
import yaml

from entrypoints.cli import main
from entrypoints.config.settings import variables

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "schemas" / "compose-spec.json"
APP_SERVICES = ("api", "worker")
DOCKER_DEFAULT_STOP_GRACE_SECONDS = 10
# Go's time.ParseDuration, which Compose uses; the schema only says "string".
GO_DURATION = re.compile(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+")
GO_DURATION_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1,
    "m": 60,
    "h": 3600,
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


@pytest.fixture(scope="module")
def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), one list per FROM."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    stages: list[list[tuple[str, str]]] = []
    for instruction in re.sub(r"\\\n", " ", "\n".join(lines)).splitlines():
        if not instruction.strip():
            continue
        keyword, _, arguments = instruction.strip().partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword.upper(), " ".join(arguments.split())))
    return stages


def _words(value: str | list[str]) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else list(value)


def _parse_experiments_command(words: list[str]) -> click.Context:
    """Parses `experiments [OPTIONS] COMMAND [ARGS]` as click would, without running it."""
    assert words[:1] == ["experiments"], f"{words} does not run the experiments CLI"
    rest = words[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[1:]
    assert rest, f"{words} names no subcommand"
    name, arguments = rest[0], rest[1:]
    assert name in main.commands, f"`experiments {name}` does not exist: {sorted(main.commands)}"
    return main.commands[name].make_context(name, arguments)


def _depends_on(service: dict[str, Any]) -> dict[str, Any]:
    dependencies = service.get("depends_on", {})
    if isinstance(dependencies, list):
        return {name: {} for name in dependencies}
    return cast(dict[str, Any], dependencies)


def _seconds(duration: str) -> float:
    assert GO_DURATION.fullmatch(duration), f"{duration!r} is not a duration Compose reads"
    return sum(
        float(number) * GO_DURATION_UNIT_SECONDS[unit]
        for number, _, unit in re.findall(r"(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)", duration)
    )


def _redis_options(command: str | list[str]) -> dict[str, str]:
    words = _words(command)
    return {
        word.removeprefix("--"): value
        for word, value in zip(words, [*words[1:], ""], strict=True)
        if word.startswith("--")
    }


def test_compose_file_is_valid_under_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    # The schema names its draft as https://json-schema.org/draft-07/schema, a spelling
    # jsonschema's lookup (keyed by http://...#) does not recognise.
    declared = re.sub(r"^https://", "http://", schema["$schema"]).rstrip("#") + "#"
    validator_class = jsonschema.validators.validator_for({"$schema": declared})
    assert validator_class is jsonschema.Draft7Validator
    validator_class.check_schema(schema)

    errors = sorted(validator_class(schema).iter_errors(compose), key=lambda e: list(e.path))

    assert not errors, "\n".join(
        f"{'/'.join(map(str, error.path))}: {error.message}" for error in errors
    )


def test_every_duration_is_one_compose_can_parse(services: dict[str, dict[str, Any]]) -> None:
    durations = [
        value
        for service in services.values()
        for value in [
            service.get("stop_grace_period"),
            *(
                service.get("healthcheck", {}).get(key)
                for key in ("interval", "timeout", "start_period", "start_interval")
            ),
        ]
        if value is not None
    ]

    assert durations
    for duration in durations:
        assert _seconds(duration) > 0


def test_services_start_only_once_their_dependencies_are_healthy(
    services: dict[str, dict[str, Any]],
) -> None:
    dependents = {name: _depends_on(service) for name, service in services.items()}

    assert dependents["api"].keys() == {"postgres", "redis"}
    assert dependents["worker"].keys() == {"postgres", "redis"}
    for dependent, dependencies in dependents.items():
        for name, condition in dependencies.items():
            assert name in services, f"{dependent} depends on an unknown service {name}"
            assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
            assert condition.get("condition") == "service_healthy", f"{dependent} -> {name}"


def test_worker_can_be_scaled_to_many_replicas(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]

    assert "container_name" not in worker
    assert "ports" not in worker
    # A fixed hostname would give every replica the same Celery node name.
    assert "hostname" not in worker


def test_built_services_run_experiments_commands_that_exist(
    services: dict[str, dict[str, Any]],
) -> None:
    built = {name: service for name, service in services.items() if "build" in service}

    assert built.keys() == set(APP_SERVICES)
    for service in built.values():
        assert "entrypoint" not in service
        _parse_experiments_command(_words(service["command"]))


def test_dockerfile_default_command_is_an_experiments_command_that_exists(
    dockerfile_stages: list[list[tuple[str, str]]],
) -> None:
    commands = [json.loads(args) for keyword, args in dockerfile_stages[-1] if keyword == "CMD"]

    assert commands, "the final stage has no CMD"
    _parse_experiments_command(commands[-1])


def test_api_listens_publishes_and_is_probed_on_the_same_port(
    services: dict[str, dict[str, Any]],
) -> None:
    api = services["api"]
    options = _parse_experiments_command(_words(api["command"])).params
    container_ports = {str(port).rsplit(":", 1)[-1] for port in api["ports"]}
    probe = " ".join(api["healthcheck"]["test"])

    assert options["host"] == "0.0.0.0"
    assert container_ports == {str(options["port"])}
    assert f"http://127.0.0.1:{options['port']}/health" in probe
    # The slim image has Python but neither curl nor wget.
    assert api["healthcheck"]["test"][:2] == ["CMD", "python"]


def test_api_and_worker_share_settings_the_service_reads(
    services: dict[str, dict[str, Any]],
) -> None:
    # REMAP_SIGTERM is read by Celery (billiard) itself.
    known = {*variables(), "REMAP_SIGTERM"}
    environments = {name: services[name]["environment"] for name in APP_SERVICES}
    shared = environments["api"].keys() & environments["worker"].keys()

    for name, environment in environments.items():
        assert set(environment) <= known, f"{name} sets variables nobody reads"
    assert {"DATABASE_URL", "REDIS_URL", "CELERY_QUEUE", "JOB_TIME_LIMIT"} <= shared
    for variable in shared:
        assert environments["api"][variable] == environments["worker"][variable], variable
    assert urlsplit(environments["api"]["DATABASE_URL"]).hostname == "postgres"
    assert urlsplit(environments["api"]["REDIS_URL"]).hostname == "redis"


def test_api_reads_the_data_folder_mounted_read_only(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    data_dir = api["environment"]["DATA_DIR"]

    assert f"./data:{data_dir}:ro" in api["volumes"]


def test_worker_gets_longer_than_dockers_default_to_finish_its_jobs(
    services: dict[str, dict[str, Any]],
) -> None:
    grace = services["worker"]["stop_grace_period"]

    assert _seconds(grace) > DOCKER_DEFAULT_STOP_GRACE_SECONDS


def test_every_long_running_service_restarts_on_its_own(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        assert service.get("restart") in {"always", "unless-stopped", "on-failure"}, name


def test_flower_starts_only_with_the_monitoring_profile(
    services: dict[str, dict[str, Any]],
) -> None:
    flower = services["flower"]
    started_by_default = {name for name, service in services.items() if not service.get("profiles")}

    assert flower["profiles"] == ["monitoring"]
    assert flower["image"].startswith("mher/flower:")
    assert "redis://redis:6379/" in " ".join(_words(flower["command"]))
    assert started_by_default == {"postgres", "redis", "cache", "api", "worker"}


def test_dockerfile_is_multi_stage_and_runs_as_a_non_root_user(
    dockerfile_stages: list[list[tuple[str, str]]],
) -> None:
    final = dockerfile_stages[-1]
    users = [args for keyword, args in final if keyword == "USER"]

    assert len(dockerfile_stages) >= 2
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    # Only the virtual environment and the data: no sources, no uv, no build tools.
    copied = {
        source
        for keyword, args in final
        if keyword == "COPY"
        for source in [word for word in args.split() if not word.startswith("--")][:-1]
    }
    assert copied == {"/app/.venv", "data"}


def test_dockerfile_installs_the_locked_dependencies_without_dev_or_embedded_groups(
    dockerfile_stages: list[list[tuple[str, str]]],
) -> None:
    syncs = [
        args.split()
        for stage in dockerfile_stages
        for keyword, args in stage
        if keyword == "RUN" and "uv sync" in args
    ]

    assert syncs, "the Dockerfile never runs uv sync"
    for words in syncs:
        assert "--locked" in words
        assert "--no-dev" in words
        joined = " ".join(words)
        assert "--no-group embedded" in joined or "--no-group=embedded" in joined
    # Dependencies in a layer of their own, then the project.
    assert "--no-install-project" in syncs[0]
    assert "--no-install-project" not in syncs[-1]


def test_dockerignore_keeps_local_state_and_caches_out_of_the_build_context() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()]
    patterns = {line.strip("/") for line in lines if line and not line.startswith("#")}

    assert {".venv", ".git", ".experiments", ".env"} <= patterns
    assert {".pytest_cache", ".mypy_cache", ".ruff_cache"} <= patterns
    # Without **/ a pattern matches at the top of the context only.
    assert "**/__pycache__" in patterns
    assert not any(pattern.startswith("!") for pattern in patterns)
    for needed in ("src", "data", "pyproject.toml", "uv.lock", "README.md"):
        assert needed not in patterns


def test_postgres_and_redis_keep_their_data_in_named_volumes(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = compose.get("volumes", {}).keys()
    data_paths = {"postgres": "/var/lib/postgresql/data", "redis": "/data"}

    for name, path in data_paths.items():
        sources = {
            volume.split(":")[0]
            for volume in services[name]["volumes"]
            if volume.split(":")[1] == path
        }
        assert sources, f"{name} keeps {path} in the container only"
        assert sources <= declared, f"{name}'s {path} is not a named volume"


def test_postgres_is_healthy_only_once_it_accepts_tcp_connections(
    services: dict[str, dict[str, Any]],
) -> None:
    test = _words(services["postgres"]["healthcheck"]["test"])

    assert "pg_isready" in test
    assert test[test.index("-h") + 1] == "127.0.0.1"
    assert "POSTGRES_PASSWORD" in services["postgres"]["environment"]


def test_redis_persists_every_second_and_never_evicts(services: dict[str, dict[str, Any]]) -> None:
    redis = services["redis"]
    options = _redis_options(redis["command"])

    assert options["appendonly"] == "yes"
    assert options["appendfsync"] == "everysec"
    assert options["maxmemory-policy"] == "noeviction"
    assert "redis-cli ping" in " ".join(_words(redis["healthcheck"]["test"]))


def test_the_cache_is_a_redis_of_its_own_that_forgets_rather_than_fills_or_persists(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    cache = services["cache"]
    options = _redis_options(cache["command"])
    cache_url = services["api"]["environment"]["CACHE_URL"]

    assert cache["image"].startswith("redis:")
    assert options["maxmemory-policy"] == "allkeys-lru"
    assert options["maxmemory"]
    assert options["appendonly"] == "no"
    assert options["save"] == ""
    assert "volumes" not in cache
    assert "redis-cli ping" in " ".join(_words(cache["healthcheck"]["test"]))
    assert urlsplit(cache_url.removeprefix("${CACHE_URL-").rstrip("}")).hostname == "cache"
    assert "CACHE_URL" not in services["worker"]["environment"]


def test_the_api_starts_without_waiting_for_the_cache_it_never_needs(
    services: dict[str, dict[str, Any]],
) -> None:
    assert "cache" not in _depends_on(services["api"])
