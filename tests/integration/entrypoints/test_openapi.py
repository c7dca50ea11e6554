from __future__ import annotations

import json
import re
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.http.app import openapi_document

DOCS = Path(__file__).parents[3] / "docs"


def test_the_committed_openapi_document_is_what_the_app_serves() -> None:
    committed = (DOCS / "openapi.json").read_text()

    assert committed == openapi_document(), (
        "docs/openapi.json is stale: run `uv run experiments openapi`"
    )


def test_every_operation_is_described_with_its_errors() -> None:
    spec = json.loads(openapi_document())
    operations = [op for path in spec["paths"].values() for op in path.values()]

    assert len(operations) == 13
    for op in operations:
        name = op["operationId"]
        assert op["summary"], name
        assert op["description"], name
        assert op["tags"], name
        assert "503" in op["responses"], name
        for param in op.get("parameters", []):
            assert param.get("description"), (name, param["name"])
            assert param.get("examples") or param["schema"].get("examples"), (name, param["name"])
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == ["application/problem+json"], (name, status)
    assert {tag["name"] for tag in spec["tags"]} == {"logs", "tables", "jobs", "health"}


async def test_the_docs_pages_load_nothing_from_other_hosts(
    client: AsyncTestClient[Litestar],
) -> None:
    for page in ("/schema", "/schema/swagger"):
        html = (await client.get(page)).text
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)

        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), (page, asset)
            assert (await client.get(asset)).status_code == 200, (page, asset)
        assert "https://" not in html.replace("https://swagger.io", ""), page
