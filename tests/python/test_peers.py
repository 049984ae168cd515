"""The harness itself, without the gateway: the Python MCP client talks directly to
the real peers, so a gateway test failure can't be blamed on the peers or the client."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from mcp import Client
from mcp.client.sse import sse_client

import harness

pytestmark = pytest.mark.anyio

EVERYTHING_TOOLS = {"echo", "get-sum", "get-env", "get-tiny-image", "get-structured-content"}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_everything_stdio(mode: str) -> None:
    async with Client(harness.everything_params(), mode=mode) as client:
        assert client.protocol_version == "2025-11-25"  # a handshake-era server, in either mode
        assert client.server_info is not None and client.server_info.name == "mcp-servers/everything"
        names = {t.name for t in (await client.list_tools()).tools}
        assert EVERYTHING_TOOLS <= names
        result = await client.call_tool("echo", {"message": "hello portcullis"})
        assert not result.is_error
        assert harness.text_of(result) == "Echo: hello portcullis"


async def test_everything_streamable_http() -> None:
    with harness.everything_http("streamableHttp") as peer:
        assert peer.url.endswith("/mcp")
        async with Client(peer.url, mode="auto") as client:
            assert client.protocol_version == "2025-11-25"
            names = {t.name for t in (await client.list_tools()).tools}
            assert EVERYTHING_TOOLS <= names
            result = await client.call_tool("get-sum", {"a": 2, "b": 40})
            assert not result.is_error
            assert harness.text_of(result) == "The sum of 2 and 40 is 42."


async def test_everything_legacy_sse() -> None:
    with harness.everything_http("sse") as peer:
        async with Client(sse_client(peer.url), mode="legacy") as client:
            assert client.protocol_version == "2025-11-25"
            names = {t.name for t in (await client.list_tools()).tools}
            assert "echo" in names
            result = await client.call_tool("echo", {"message": "over sse"})
            assert harness.text_of(result) == "Echo: over sse"


@pytest.mark.parametrize(
    ("mode", "expected_version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28"), ("2026-07-28", "2026-07-28")]
)
async def test_time_server(mode: str, expected_version: str) -> None:
    async with Client(harness.time_params(), mode=mode) as client:
        assert client.protocol_version == expected_version
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"get_current_time", "convert_time"}

        converted = await client.call_tool(
            "convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
        )
        assert not converted.is_error
        assert converted.structured_content["target"]["datetime"].endswith("T21:00:00+09:00")
        assert converted.structured_content["time_difference"] == "+9.0h"

        now = await client.call_tool("get_current_time", {"timezone": "UTC"})
        reported = datetime.fromisoformat(now.structured_content["datetime"])
        assert abs((reported - datetime.now(timezone.utc)).total_seconds()) < 120


async def test_time_server_tool_error() -> None:
    async with Client(harness.time_params(), mode="legacy") as client:
        result = await client.call_tool("get_current_time", {"timezone": "Nowhere/Bogus"})
        assert result.is_error
        assert "Invalid timezone" in harness.text_of(result)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_git_server(mode: str, tmp_path) -> None:
    repo = harness.make_git_repo(tmp_path / "repo", message="the first commit")
    async with Client(harness.git_params(repo), mode=mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"git_status", "git_log", "git_diff", "git_commit", "git_add"} <= names
        log = await client.call_tool("git_log", {"repo_path": str(repo), "max_count": 1})
        assert not log.is_error
        assert "Message: the first commit" in harness.text_of(log)
        status = await client.call_tool("git_status", {"repo_path": str(repo)})
        assert "nothing to commit" in harness.text_of(status)


def test_config_snippets_are_valid_toml(tmp_path) -> None:
    import tomllib

    config = (
        harness.everything_stdio(env={"A KEY": 'quote"d'})
        + harness.time_stdio()
        + harness.git_stdio(tmp_path)
        + harness.http_upstream("web", "http://127.0.0.1:3001/mcp", transport="sse")
    )
    parsed = tomllib.loads(config)["servers"]
    assert parsed["everything"] == {"command": str(harness.EVERYTHING), "args": ["stdio"], "env": {"A KEY": 'quote"d'}}
    assert parsed["time"]["args"] == ["--local-timezone", "UTC"]
    assert parsed["git"]["args"] == ["--repository", str(tmp_path)]
    assert parsed["web"] == {"url": "http://127.0.0.1:3001/mcp", "transport": "sse"}
