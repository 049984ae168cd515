"""Through the gateway: three real upstreams at once (server-everything over stdio,
mcp-server-time, mcp-server-git), seen by one client as `<server>__<tool>` tools."""

from __future__ import annotations

import pytest
from mcp import Client

import harness

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]


@pytest.fixture
def three_upstreams(gateway, tmp_path) -> tuple[harness.Gateway, str]:
    repo = harness.make_git_repo(tmp_path / "repo", message="gateway test commit")
    config = harness.everything_stdio() + "\n" + harness.time_stdio() + "\n" + harness.git_stdio(repo)
    return gateway(config), str(repo)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_lists_and_calls_tools_of_three_upstreams(three_upstreams, mode: str) -> None:
    gw, repo = three_upstreams
    async with Client(gw.url, mode=mode, read_timeout_seconds=30) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        expected = {
            "everything__echo",
            "everything__get-sum",
            "time__get_current_time",
            "time__convert_time",
            "git__git_status",
            "git__git_log",
        }
        assert expected <= names, f"missing {sorted(expected - names)}; gateway lists {sorted(names)}"

        echo = await client.call_tool("everything__echo", {"message": "through the gateway"})
        assert not echo.is_error
        assert harness.text_of(echo) == "Echo: through the gateway"

        converted = await client.call_tool(
            "time__convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
        )
        assert not converted.is_error
        assert "21:00:00+09:00" in harness.text_of(converted)

        log = await client.call_tool("git__git_log", {"repo_path": repo, "max_count": 1})
        assert not log.is_error
        assert "Message: gateway test commit" in harness.text_of(log)
