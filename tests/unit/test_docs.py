"""The architecture docs name real modules and classes, and their links lead somewhere.

Reads docs/architecture.md and docs/adr/*.md. Checked:

- every backticked path (`src/domain/tables/inference.py`, `entrypoints/di/providers.py`,
  `tests/support/fakes/`, `compose.yaml`) exists, relative to the repository or to `src/`;
- every backticked dotted module of this project (`adapters.postgres.loading.loader`, or
  `domain.tables.model.TableInfo`) resolves to a module, and a trailing name is defined in it;
- every backticked CamelCase name (`FetchLogs`, `PostgresJobRepository`) is defined in `src/`
  or `tests/`, unless it belongs to a library (EXTERNAL_NAMES);
- the names the hexagon diagram is built from (HEXAGON) exist, and every use case, port and
  port adapter in `src/` is named in docs/architecture.md;
- every relative Markdown link in docs/ points to an existing file (and heading).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
DOCS = ROOT / "docs"
ARCHITECTURE = DOCS / "architecture.md"
ADR_DIR = DOCS / "adr"

ROOT_PACKAGES = ("domain", "adapters", "entrypoints", "devtools")
TOP_LEVEL_DIRS = frozenset({"src", *ROOT_PACKAGES, "tests", "docs", "data", ".ci"})
ROOT_FILE_SUFFIXES = (".toml", ".yaml", ".yml", ".lock", ".md")
ROOT_FILES_WITHOUT_SUFFIX = frozenset({"Dockerfile"})

HEXAGON = {
    "use cases": (
        "FetchLogs",
        "LoadTable",
        "ListTables",
        "CheckReadiness",
        "CheckCache",
        "CollectMetrics",
        "LaunchMetric",
        "GetJobResult",
        "ListJobs",
        "CancelJob",
        "RerunJob",
        "PurgeJobs",
        "WatchJobs",
        "RunMetric",
        "ListMetrics",
        "RecoverJobs",
    ),
    "ports": (
        "TableSources",
        "TableCatalog",
        "TableLoader",
        "LogReader",
        "LogCache",
        "DatabaseProbe",
        "BrokerProbe",
        "CacheProbe",
        "CacheMonitor",
        "JobCensus",
        "QueueDepth",
        "RecoveryCounters",
        "JobRepository",
        "TaskQueue",
        "JobFeed",
        "SweepLock",
        "WorkerProbe",
        "Clock",
        "Metric",
        "ExperimentData",
    ),
    "adapters": (
        "FileSystemTableSources",
        "PostgresTableCatalog",
        "PostgresTableLoader",
        "PostgresLogReader",
        "CachedLogReader",
        "RedisLogCache",
        "SnapshotTableCatalog",
        "AnnouncedTableLoader",
        "CacheCounters",
        "PostgresDatabaseProbe",
        "PostgresJobCensus",
        "RedisBrokerProbe",
        "RedisCacheProbe",
        "RedisQueueDepth",
        "PostgresRecoveryCounters",
        "PostgresJobRepository",
        "LoggedJobRepository",
        "CeleryTaskQueue",
        "PostgresJobFeed",
        "PostgresSweepLock",
        "LocalWorkerProbe",
        "PostgresExperimentData",
        "SystemClock",
    ),
}
"""The names the hexagon diagram in docs/architecture.md is drawn with."""

EXTERNAL_NAMES = frozenset(
    {
        # psycopg, psycopg_pool
        "AsyncConnectionPool",
        "AsyncRawCursor",
        "OperationalError",
        "PoolTimeout",
        "UndefinedColumn",
        "UndefinedTable",
        # Litestar, dishka, msgspec
        "DishkaRouter",
        "FromDishka",
        "OpenAPIConfig",
        "ScalarRenderPlugin",
        "ServerSentEvent",
        "SwaggerRenderPlugin",
        "ValidationException",
        # Celery, testcontainers
        "AsyncResult",
        "TimeLimitExceeded",
        "WorkerLostError",
        "PostgresContainer",
        "RedisContainer",
        # standard library
        "NewType",
        "StrEnum",
    }
)
"""Backticked CamelCase names that are defined by a library, not by this project."""

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

PATH_SPAN = re.compile(r"^[\w.-]+(?:/[\w.-]+)*/?$")
DOTTED_SPAN = re.compile(rf"^(?:{'|'.join(ROOT_PACKAGES)})(?:\.[A-Za-z_]\w*)+$")
CAMEL_CASE = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+$")


def doc_files() -> list[Path]:
    return [ARCHITECTURE, *sorted(ADR_DIR.glob("*.md"))]


def without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


def inline_code(path: Path) -> list[str]:
    text = without_code_blocks(path.read_text(encoding="utf-8"))
    return [span.strip() for span in INLINE_CODE.findall(text)]


def spans() -> list[tuple[str, str]]:
    """(document, backticked text) for every inline code span of the checked docs."""
    return [
        (path.relative_to(ROOT).as_posix(), span)
        for path in doc_files()
        if path.exists()
        for span in inline_code(path)
    ]


def is_path(span: str) -> bool:
    if not PATH_SPAN.match(span) or span.startswith(("/", "./", "../")):
        return False
    if "/" in span:
        return span.split("/", 1)[0] in TOP_LEVEL_DIRS or span.endswith(".py")
    return span.endswith((".py", *ROOT_FILE_SUFFIXES)) or span in ROOT_FILES_WITHOUT_SUFFIX


def path_exists(span: str) -> bool:
    if "/" not in span and span.endswith(".py"):
        return any(SRC.rglob(span)) or any((ROOT / "tests").rglob(span))
    return any((base / span).exists() for base in (ROOT, SRC))


@cache
def python_sources() -> dict[Path, str]:
    files = [*SRC.rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    return {
        path: path.read_text(encoding="utf-8") for path in files if "__pycache__" not in path.parts
    }


def defines(source: str, name: str) -> bool:
    """Whether a module defines `name`: as a class, a function, or a top-level assignment."""
    pattern = rf"^\s*(?:class|def|async\s+def)\s+{name}\b|^{name}\s*(?::[^=\n]+)?="
    return re.search(pattern, source, re.MULTILINE) is not None


def defined_in_project(name: str) -> bool:
    return any(
        defines(source, name)
        for path, source in python_sources().items()
        if path != Path(__file__).resolve()
    )


def module_file(dotted: str) -> Path | None:
    base = SRC.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def resolve_dotted(span: str) -> str | None:
    """None when `span` names a module, or a name defined in one; else what is wrong."""
    parts = span.split(".")
    for cut in range(len(parts), 0, -1):
        module = module_file(".".join(parts[:cut]))
        if module is None:
            continue
        rest = parts[cut:]
        if not rest:
            return None
        if len(rest) == 1 and defines(module.read_text(encoding="utf-8"), rest[0]):
            return None
        return f"{'.'.join(rest)} is not defined in {module.relative_to(ROOT)}"
    return "no such module under src/"


def classes_in(folder: Path) -> list[ast.ClassDef]:
    return [
        node
        for path in sorted(folder.rglob("*.py"))
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.ClassDef)
    ]


def base_names(node: ast.ClassDef) -> set[str]:
    return {base.id if isinstance(base, ast.Name) else ast.unparse(base) for base in node.bases}


def project_use_cases() -> set[str]:
    return {
        node.name
        for folder in (SRC / "domain").glob("*/use_cases")
        for node in classes_in(folder)
        if any(
            isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == "__call__"
            for item in node.body
        )
    }


def project_ports() -> set[str]:
    return {
        node.name
        for node in classes_in(SRC / "domain")
        if base_names(node) & {"Protocol", "typing.Protocol"}
    }


def project_adapters() -> set[str]:
    ports = project_ports()
    return {node.name for node in classes_in(SRC / "adapters") if base_names(node) & ports}


def github_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for heading in HEADING.findall(without_code_blocks(path.read_text(encoding="utf-8"))):
        text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
        slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def relative_links() -> list[tuple[str, str]]:
    """(document, target) for every link in docs/ that is not a URL."""
    found = []
    for path in sorted(DOCS.rglob("*.md")):
        text = INLINE_CODE.sub("", without_code_blocks(path.read_text(encoding="utf-8")))
        for target in LINK.findall(text):
            if not URL_SCHEME.match(target):
                found.append((path.relative_to(ROOT).as_posix(), target))
    return found


PATH_SPANS = sorted({(doc, span) for doc, span in spans() if is_path(span)})
DOTTED_SPANS = sorted({(doc, span) for doc, span in spans() if DOTTED_SPAN.match(span)})
CLASS_SPANS = sorted(
    {(doc, span) for doc, span in spans() if CAMEL_CASE.match(span) and span not in EXTERNAL_NAMES}
)
HEXAGON_NAMES = sorted(name for names in HEXAGON.values() for name in names)
LINKS = relative_links()


def test_the_architecture_doc_and_at_least_one_adr_exist() -> None:
    assert ARCHITECTURE.is_file()
    assert sorted(ADR_DIR.glob("0*.md"))


def test_the_checks_find_paths_modules_and_classes_to_check() -> None:
    """Guards against a parser change that would quietly check nothing."""
    paths = {span for _, span in PATH_SPANS}
    assert {"src/domain/tables/inference.py", "entrypoints/di/providers.py"} <= paths
    assert "adapters.postgres.loading.loader" in {span for _, span in DOTTED_SPANS}
    assert "FetchLogs" in {span for _, span in CLASS_SPANS}
    assert len(LINKS) >= len(list(ADR_DIR.glob("0*.md")))


@pytest.mark.parametrize(("doc", "span"), PATH_SPANS, ids=[f"{d}:{s}" for d, s in PATH_SPANS])
def test_every_backticked_path_exists_in_the_repository(doc: str, span: str) -> None:
    assert path_exists(span), f"{doc} names `{span}`, which is neither in the repo nor in src/"


@pytest.mark.parametrize(("doc", "span"), DOTTED_SPANS, ids=[f"{d}:{s}" for d, s in DOTTED_SPANS])
def test_every_backticked_dotted_module_resolves_under_src(doc: str, span: str) -> None:
    problem = resolve_dotted(span)
    assert problem is None, f"{doc} names `{span}`: {problem}"


@pytest.mark.parametrize(("doc", "name"), CLASS_SPANS, ids=[f"{d}:{s}" for d, s in CLASS_SPANS])
def test_every_backticked_class_name_is_defined_in_the_project(doc: str, name: str) -> None:
    assert defined_in_project(name), (
        f"{doc} names `{name}`, which nothing in src/ or tests/ defines; "
        "if it is a library's, add it to EXTERNAL_NAMES"
    )


@pytest.mark.parametrize("name", HEXAGON_NAMES)
def test_every_name_in_the_hexagon_is_defined_in_src_and_drawn(name: str) -> None:
    assert any(
        re.search(rf"^\s*class\s+{name}\b", source, re.MULTILINE)
        for path, source in python_sources().items()
        if SRC in path.parents
    ), f"no `class {name}` under src/"
    assert re.search(rf"\b{name}\b", ARCHITECTURE.read_text(encoding="utf-8")), (
        f"{name} is not drawn in docs/architecture.md"
    )


@pytest.mark.parametrize("kind", sorted(HEXAGON))
def test_every_use_case_port_and_adapter_in_src_is_in_the_hexagon(kind: str) -> None:
    in_src = {
        "use cases": project_use_cases,
        "ports": project_ports,
        "adapters": project_adapters,
    }[kind]()
    missing = sorted(in_src - set(HEXAGON[kind]))
    assert not missing, f"{kind} in src/ missing from HEXAGON and docs/architecture.md: {missing}"


def test_every_adr_is_numbered_once_and_linked_from_the_architecture_doc() -> None:
    adrs = sorted(ADR_DIR.glob("*.md"))
    numbers = [adr.name[:4] for adr in adrs]
    assert all(re.fullmatch(r"\d{4}-[a-z0-9-]+\.md", adr.name) for adr in adrs), numbers
    assert len(set(numbers)) == len(numbers), numbers
    text = ARCHITECTURE.read_text(encoding="utf-8")
    unlinked = [adr.name for adr in adrs if f"(adr/{adr.name})" not in text]
    assert not unlinked, f"ADRs not linked from docs/architecture.md: {unlinked}"


@pytest.mark.parametrize(("doc", "target"), LINKS, ids=[f"{d}->{t}" for d, t in LINKS])
def test_every_relative_link_in_docs_points_to_an_existing_file(doc: str, target: str) -> None:
    file_part, _, anchor = target.partition("#")
    source = ROOT / doc
    linked = (source.parent / file_part).resolve() if file_part else source
    assert linked.exists(), f"{doc} links to {target}, which does not exist"
    if anchor and linked.suffix == ".md":
        assert anchor in github_anchors(linked), f"{doc} links to {target}: no such heading"
