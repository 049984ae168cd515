"""Profiles: `[profiles.NAME]` lists servers and tool globs; it is served at
/mcp/p/NAME, bound to client tokens, and honoured by tools/list, search, describe,
call, resources, prompts and completion, while what is outside it does not exist for
the agent. `portcullis profile add|list|rm` and the admin API edit them, and open
sessions follow the edit. Against the real gateway, the real MCP Python client, the
real server-everything and mcp-server-time.
"""

from __future__ import annotations

import json
import os
import time

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

import harness
import trustkit as tk

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

PROFILES = """
[profiles.clock]
description = "Only the time"
servers = ["time"]

[profiles.maths]
servers = ["every*"]
tools = ["get-sum", "everything/echo"]
surface = "search"
"""





def client_at(url: str, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=30, trust_env=False)
    return Client(streamable_http_client(url, http_client=http), mode="legacy")


async def tool_names(client: Client) -> list[str]:
    return sorted(t.name for t in (await client.list_tools()).tools)


async def unknown(call) -> str:
    with pytest.raises(MCPError) as raised:
        await call
    return str(raised.value)


@pytest.fixture
def gw(gateway):
    return gateway('[gateway]\nsurface = "direct"\n\n' + harness.everything_stdio() + harness.time_stdio() + PROFILES)


async def test_a_profile_sees_its_servers_and_tools_on_every_path(gw) -> None:
    async with client_at(gw.url) as everything:
        all_tools = await tool_names(everything)
        assert "everything__echo" in all_tools and "time__get_current_time" in all_tools
        assert (await everything.list_resources()).resources
        prompt = next(p.name for p in (await everything.list_prompts()).prompts)
        resource = str((await everything.list_resources()).resources[0].uri)

    async with client_at(gw.url + "/p/clock") as clock:
        names = await tool_names(clock)
        assert names and all(n.startswith("time__") for n in names), names
        result = await clock.call_tool("time__get_current_time", {"timezone": "UTC"})
        assert not result.is_error, harness.text_of(result)
        # Outside the profile: unknown, exactly as a name no server has.
        message = await unknown(clock.call_tool("everything__echo", {"message": "hi"}))
        assert "unknown tool `everything__echo`" in message, message
        # The time server has no resources or prompts; everything's are not there.
        assert (await clock.list_resources()).resources == []
        assert (await clock.list_prompts()).prompts == []
        assert "unknown prompt" in await unknown(clock.get_prompt(prompt, {}))
        message = await unknown(clock.read_resource(resource))
        assert resource in message and "not found" in message.lower(), message

    async with client_at(gw.url + "/p/maths") as maths:
        # The profile picks the search surface itself.
        assert await tool_names(maths) == ["call_tool", "describe_tool", "search_tools"]
        found = harness.text_of(await maths.call_tool("search_tools", {"query": "add two numbers", "limit": 25}))
        assert "everything__get-sum" in found, found
        everything_found = harness.text_of(await maths.call_tool("search_tools", {"query": "echo print message time", "limit": 25}))
        assert "time__" not in everything_found and "everything__echo" in everything_found, everything_found
        summed = await maths.call_tool("call_tool", {"name": "everything__get-sum", "arguments": {"a": 2, "b": 3}})
        assert "5" in harness.text_of(summed)
        # A tool of a server in the profile, but not among its tools.
        described = await unknown(maths.call_tool("describe_tool", {"name": "everything__get-env"}))
        assert "unknown tool" in described, described
        # Its server's resources and prompts are there: tool globs narrow tools only.
        assert (await maths.list_resources()).resources
        assert prompt in {p.name for p in (await maths.list_prompts()).prompts}

    # /mcp/p/NAME/direct overrides the profile's surface.
    async with client_at(gw.url + "/p/maths/direct") as direct:
        assert await tool_names(direct) == ["everything__echo", "everything__get-sum"]


async def test_an_unknown_profile_is_404_with_the_ones_there_are(gw) -> None:
    resp = tk.post_mcp(gw.url + "/p/nope", tk.INIT)
    assert resp.status_code == 404, resp.text
    message = resp.json()["error"]["message"]
    assert "no profile `nope`" in message and "clock, maths" in message, message


async def test_a_token_bound_to_a_profile_sees_it_everywhere_and_only_it(gw) -> None:
    made = tk.cli(gw.home, "client", "add", "watch", "--profile", "clock", "--json", check=False)
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    refused = tk.cli(gw.home, "client", "add", "other", "--profile", "nope", check=False)
    assert refused.returncode == 1 and "no profile `nope`" in refused.stderr, refused.stderr

    # At /mcp it sees its profile.
    async with client_at(gw.url, token) as client:
        names = await tool_names(client)
        assert names and all(n.startswith("time__") for n in names), names
    # At its own door too; at another profile's it is refused before anything is read.
    assert tk.post_mcp(gw.url + "/p/clock", tk.INIT, token).status_code == 200
    resp = tk.post_mcp(gw.url + "/p/maths", tk.INIT, token)
    assert resp.status_code == 403, resp.text
    assert "may use profile `clock` only" in resp.json()["error"]["message"]
    # A session opened at one door is not used at another.
    opened = tk.post_mcp(gw.url + "/p/clock", tk.INIT, token)
    session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    assert tk.post_mcp(gw.url + "/p/clock", ping, token, **session).status_code == 200
    free = json.loads(tk.cli(gw.home, "client", "add", "free", "--json", check=False).stdout)["token"]
    assert tk.post_mcp(gw.url + "/p/maths", ping, free, **session).status_code == 403


async def test_profile_edits_apply_to_open_sessions_and_the_cli_lists_them(gw) -> None:
    listed = tk.cli(gw.home, "profile", "list", check=False)
    assert listed.returncode == 0, listed.stderr
    assert "clock  /mcp/p/clock" in listed.stdout and "covers:  everything" in listed.stdout, listed.stdout

    async with client_at(gw.url + "/p/clock") as clock:
        before = await tool_names(clock)
        assert "everything__echo" not in before
        added = tk.cli(gw.home, "profile", "add", "clock", "--servers", "time,everything", "--tools", "get_*,echo", "--replace", check=False)
        assert added.returncode == 0, added.stderr
        assert "covers:  everything, time" in added.stdout, added.stdout
        # The running gateway reads the file within a second; the open session follows it.
        with anyio.fail_after(15):
            while "everything__echo" not in (names := await tool_names(clock)):
                await anyio.sleep(0.1)
        assert "time__convert_time" not in names and "time__get_current_time" in names, names
        result = await clock.call_tool("everything__echo", {"message": "now inside"})
        assert "now inside" in harness.text_of(result)

        removed = tk.cli(gw.home, "profile", "rm", "clock", check=False)
        assert removed.returncode == 0, removed.stderr
        # A session of a removed profile is refused from then on, saying why.
        with anyio.fail_after(15):
            while True:
                try:
                    await tool_names(clock)
                except MCPError as e:
                    assert "there is no profile `clock`" in str(e), e
                    break
                await anyio.sleep(0.1)
    assert tk.post_mcp(gw.url + "/p/clock", tk.INIT).status_code == 404
    gone = tk.cli(gw.home, "profile", "rm", "clock", check=False)
    assert gone.returncode == 1 and "portcullis profile list" in gone.stderr, gone.stderr
    # Bad input loses nothing: the file still has the other profile.
    bad = tk.cli(gw.home, "profile", "add", "bad name", "--servers", "time", check=False)
    assert bad.returncode == 1 and "not a profile name" in bad.stderr, bad.stderr
    assert "[profiles.maths]" in (gw.home / "config.toml").read_text()


async def test_the_admin_api_writes_and_lists_profiles(gw) -> None:
    saved = harness.admin_call(gw, "PUT", "profiles/review", {"description": "d", "servers": ["time"], "tools": ["get_*"]})
    assert saved == {"saved": "review"}
    views = {p["name"]: p for p in harness.admin_call(gw, "GET", "profiles")["profiles"]}
    assert views["review"]["covers"] == ["time"] and views["review"]["tools"] == ["get_*"], views
    assert views["maths"]["covers"] == ["everything"] and views["maths"]["surface"] == "search"
    # The gateway applied it at once.
    async with client_at(gw.url + "/p/review") as review:
        assert await tool_names(review) == ["time__get_current_time"]
    assert 'tools = ["get_*"]' in (gw.home / "config.toml").read_text()
    harness.admin_call(gw, "DELETE", "profiles/review")
    assert tk.post_mcp(gw.url + "/p/review", tk.INIT).status_code == 404


async def test_stdio_serves_one_profile(gw) -> None:
    home = gw.home
    gw.stop()  # the approvals stay in the store the stdio gateway reads
    params = StdioServerParameters(
        command=str(harness.gateway_bin()),
        args=["stdio", "--profile", "clock"],
        env={**os.environ, "PORTCULLIS_HOME": str(home)},
    )
    async with Client(params, mode="legacy") as client:
        deadline = time.monotonic() + 30
        while not (names := await tool_names(client)) and time.monotonic() < deadline:
            await anyio.sleep(0.2)
        assert names and all(n.startswith("time__") for n in names), names
    wrong = tk.cli(home, "stdio", "--profile", "nope", check=False)
    assert wrong.returncode == 1 and "no profile `nope`" in wrong.stderr, wrong.stderr
