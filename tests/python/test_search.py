"""Tool search as an agent meets it: `/mcp/search` (search_tools, describe_tool, call_tool)
over real upstreams (server-everything over stdio, mcp-server-time, mcp-server-git), the
index on disk across a restart, descriptions that change, argument validation before the
upstream, and `portcullis tools search` with and without a running gateway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mcp import Client, MCPError

import harness

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DESCRIBED_SERVER = FIXTURES / "described_server.py"

TOP = 3

# (request in plain words, the tool that serves it). Each must be in the top 3.
REQUESTS = [
    ("what time is it in Tokyo", "time__get_current_time"),
    ("convert 3pm New York time to London", "time__convert_time"),
    ("add two numbers", "everything__get-sum"),
    ("echo back a message", "everything__echo"),
    ("stage files for commit", "git__git_add"),
    ("create a new branch", "git__git_create_branch"),
    ("switch to another branch", "git__git_checkout"),
    ("undo staged changes", "git__git_reset"),
    ("print the environment variables", "everything__get-env"),
    ("compress a file", "everything__gzip-file-as-resource"),
    ("show the working tree status", "git__git_status"),
    # No git tool says "history": its synonym "log" stands in for it at full weight.
    ("show the commit history of my repository", "git__git_log"),
]


def three_upstreams_config(repo: Path | str, git_command: str | None = None) -> str:
    git = (
        harness.git_stdio(repo)
        if git_command is None
        else harness.server_table("git", command=git_command, args=["--repository", str(repo)])
    )
    return harness.everything_stdio() + "\n" + harness.time_stdio() + "\n" + git


@pytest.fixture
def restartable() -> Iterator[Callable[..., harness.Gateway]]:
    """Factory: start(config, base_dir, **kw) runs a gateway in base_dir/home, so a second
    call with the same base_dir is a restart on the same home (same index and store)."""
    started: list[harness.Gateway] = []

    def start(config: str, base: Path, **kw) -> harness.Gateway:
        try:
            gw = harness.start_gateway(config, base, **kw)
        except harness.GatewayStartError as e:
            failure = str(e)
        else:
            started.append(gw)
            return gw
        pytest.fail(failure, pytrace=False)

    yield start
    for gw in started:
        gw.stop()


@pytest.fixture(scope="module")
def peers(tmp_path_factory) -> Iterator[tuple[harness.Gateway, Path]]:
    """One gateway with the three real upstreams, every server and tool approved, for the
    read-only tests of this module."""
    if not harness.gateway_bin().is_file():
        pytest.skip(f"gateway binary not found at {harness.gateway_bin()}: build it with `cargo build -p portcullis`")
    base = tmp_path_factory.mktemp("search-peers")
    repo = harness.make_git_repo(base / "repo", message="search test commit")
    gw = harness.start_gateway(three_upstreams_config(repo), base)
    try:
        wait_until_indexed(gw, "Shows the commit logs", "git_log")
        yield gw, repo
    finally:
        gw.stop()


def search_url(gw: harness.Gateway) -> str:
    return gw.url + "/search"


def admin_search(gw: harness.Gateway, query: str, limit: int = 5) -> list[dict]:
    from urllib.parse import quote

    return harness.admin_call(gw, "GET", f"search?q={quote(query)}&limit={limit}")


def wait_until_indexed(gw: harness.Gateway, query: str, tool: str, *, state: str = "approved", timeout: float = 20.0) -> None:
    """Waits until the index answers `query` with `tool` in the given approval state."""
    deadline = time.monotonic() + timeout
    hits: list[dict] = []
    while time.monotonic() < deadline:
        hits = admin_search(gw, query, limit=10)
        if any(h["name"] == tool and h["state"] == state for h in hits):
            return
        time.sleep(0.1)
    raise AssertionError(f"the index never answered {query!r} with {tool} ({state}); last answer: {hits}")


async def search(client: Client, query: str, **kw) -> tuple[str, list[dict]]:
    result = await client.call_tool("search_tools", {"query": query, **kw})
    assert not result.is_error, harness.text_of(result)
    # Each thing said once: the text is the answer, nothing repeats it as JSON.
    assert result.structured_content is None, result.structured_content
    text = harness.text_of(result)
    return text, harness.search_results(text)


def show(results: list[dict]) -> str:
    return "\n".join(
        f"  {i + 1}. {r['name']} {r['description']}" if "name" in r else f"  {i + 1}. ({r['held']} held of {r['server']})"
        for i, r in enumerate(results)
    )


# --------------------------------------------------------------------------
# What an agent sees and finds
# --------------------------------------------------------------------------


async def test_search_surface_lists_three_small_tools(peers) -> None:
    gw, _ = peers
    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {"search_tools", "describe_tool", "call_tool"}
    assert tools["search_tools"].input_schema["required"] == ["query"]
    for t in tools.values():
        assert len(t.description) < 300, f"{t.name}: {len(t.description)} characters of description"


@pytest.mark.parametrize(("request_text", "expected"), REQUESTS)
async def test_plain_request_finds_the_right_tool(peers, request_text: str, expected: str) -> None:
    gw, _ = peers
    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        text, results = await search(client, request_text, limit=5)
    names = [r.get("name") for r in results]
    assert expected in names[:TOP], f"{request_text!r}: {expected} not in the top {TOP}:\n{show(results)}"
    # One line per tool, then one line saying what to call next.
    lines = text.splitlines()
    assert len(lines) == len(results) + 1, text
    for line, r in zip(lines, results):
        assert line.startswith(f"{r['name']}{r['signature']} — "), line
    assert "call_tool" in lines[-1], lines[-1]
    hit = results[names.index(expected)]
    assert hit["callable"] is True, hit


async def test_search_results_carry_signature_and_server_filter(peers) -> None:
    gw, _ = peers
    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        _, results = await search(client, "convert time between timezones", limit=1)
        assert results[0]["name"] == "time__convert_time"
        assert results[0]["server"] == "time"
        assert results[0]["signature"] == "(source_timezone: string, time: string, target_timezone: string)"

        _, only_git = await search(client, "show changes", server="git", limit=10)
        assert only_git and {r["server"] for r in only_git} == {"git"}, show(only_git)

        text, none = await search(client, "zzyzx qwxv")
        assert none == [] and "No tools match" in text


async def test_describe_tool_gives_the_full_schema(peers) -> None:
    gw, _ = peers
    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        result = await client.call_tool("describe_tool", {"name": "everything__echo"})
    assert not result.is_error
    sc = result.structured_content
    assert sc["server"] == "everything"
    assert sc["tool"]["name"] == "everything__echo"
    assert sc["tool"]["inputSchema"]["required"] == ["message"]
    assert json.loads(harness.text_of(result))["inputSchema"]["properties"]["message"]["type"] == "string"


async def test_describe_tool_reports_the_approval_state(peers) -> None:
    gw, _ = peers
    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        result = await client.call_tool("describe_tool", {"name": "everything__echo"})
    assert result.structured_content["state"] == "approved", result.structured_content


async def test_call_tool_calls_what_search_found(peers) -> None:
    gw, repo = peers
    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        _, results = await search(client, "show the working tree status", limit=1)
        result = await client.call_tool("call_tool", {"name": results[0]["name"], "arguments": {"repo_path": str(repo)}})
    assert not result.is_error, harness.text_of(result)
    assert "On branch main" in harness.text_of(result)


# --------------------------------------------------------------------------
# Arguments are checked before the upstream sees them. A mismatch is the model's to
# correct, so it comes back as a tool result with isError and the violations as text
# (MCP 2025-11-25, input validation errors); JSON-RPC errors stay for unknown tools.
# --------------------------------------------------------------------------


def echo_calls(gw: harness.Gateway) -> list[dict]:
    return [a for a in harness.admin_call(gw, "GET", "activity") if a["kind"] == "call" and a["tool"] == "echo"]


def rejection_text(result) -> str:
    """The text of a tool result that reports bad arguments, checked for its shape."""
    assert result.is_error is True, result
    assert [c.type for c in result.content] == ["text"], result
    text = result.content[0].text
    # Readable: one violation per line, and a hint, not a serialized validator dump.
    assert "do not match its input schema:\n  - " in text and "\nhint: " in text, text
    return text


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        ({}, ["message", "required"]),
        ({"message": 42}, ["/message", "string"]),
        ({"message": ["a", "b"]}, ["/message", "string"]),
    ],
    ids=["message-missing", "message-number", "message-array"],
)
async def test_call_tool_rejects_bad_arguments_before_the_upstream(gateway, arguments: dict, names: list[str]) -> None:
    gw = gateway(harness.everything_stdio())
    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        rejected = await client.call_tool("call_tool", {"name": "everything__echo", "arguments": arguments})
        text = rejection_text(rejected)
        assert "everything__echo" in text and "hint: describe_tool shows the schema" in text, text
        for word in names:
            assert word in text, f"{word!r} not in {text!r}"

        ok = await client.call_tool("call_tool", {"name": "everything__echo", "arguments": {"message": "valid"}})
        assert harness.text_of(ok) == "Echo: valid"

    # The activity log records every call the gateway forwarded: only the valid one. A call
    # is queued for the log before it is answered, and one writer writes the queue in order,
    # so once the valid call (the last one) is in the log, any call before it is too.
    deadline = time.monotonic() + 10
    while not (calls := echo_calls(gw)) and time.monotonic() < deadline:
        time.sleep(0.1)
    # One row, standing for one call (identical calls of a batch share a row).
    assert len(calls) == 1 and calls[0]["outcome"] == {"status": "ok"} and calls[0]["calls"] == 1, calls


def gauge_config(tmp_path: Path, surface: str) -> tuple[str, Path]:
    """The described fixture, writing down every tools/call it receives."""
    description = tmp_path / "description.txt"
    description.write_text("Reads the gauge of a fixture.")
    received = tmp_path / "received.jsonl"
    config = f'[gateway]\nsurface = "{surface}"\n\n' + harness.server_table(
        "fixture",
        command=sys.executable,
        args=[str(DESCRIBED_SERVER)],
        env={"DESCRIBED_SERVER_FILE": str(description), "DESCRIBED_SERVER_CALLS": str(received)},
    )
    return config, received


@pytest.mark.parametrize("surface", ["search", "direct"])
async def test_bad_arguments_are_a_tool_error_and_never_reach_the_upstream(gateway, tmp_path, surface: str) -> None:
    """Through the Python SDK: `call_tool` in search mode, `tools/call` of the tool itself
    on the direct surface. The SDK sees a result with isError and the violations, and the
    upstream, which writes down every call it receives, sees only the valid call."""
    config, received = gauge_config(tmp_path, surface)
    gw = gateway(config)
    url = search_url(gw) if surface == "search" else gw.url

    async def call(arguments: dict):
        if surface == "search":
            return await client.call_tool("call_tool", {"name": "fixture__gauge", "arguments": arguments})
        return await client.call_tool("fixture__gauge", arguments)

    hint = "describe_tool shows the schema" if surface == "search" else "tools/list shows the tool's input schema"
    async with Client(url, mode="legacy", read_timeout_seconds=30) as client:
        for bad, why in (({}, "required"), ({"reading": "seven"}, "integer"), ({"reading": 1.5}, "integer")):
            text = rejection_text(await call(bad))
            assert text.startswith("arguments for `fixture__gauge` do not match its input schema:"), text
            assert "reading" in text and why in text and f"hint: {hint}" in text, text
        assert not received.exists(), received.read_text()
        ok = await call({"reading": 7})
        assert ok.is_error is not True and harness.text_of(ok) == 'gauge: {"reading": 7}'
        # What is not the tool's business stays a protocol error: a name nobody serves.
        with pytest.raises(MCPError) as caught:
            if surface == "search":
                await client.call_tool("call_tool", {"name": "fixture__nope", "arguments": {}})
            else:
                await client.call_tool("fixture__nope", {})
        assert caught.value.error.code == -32602 and "unknown tool" in caught.value.error.message
    assert [json.loads(line) for line in received.read_text().splitlines()] == [
        {"name": "gauge", "arguments": {"reading": 7}}
    ]


async def test_search_tools_own_arguments_are_checked_the_same_way(gateway, tmp_path) -> None:
    config, received = gauge_config(tmp_path, "search")
    gw = gateway(config)
    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        for tool, arguments, word in (
            ("search_tools", {}, "query"),
            ("search_tools", {"query": "gauge", "limit": 0}, "/limit"),
            ("describe_tool", {"name": 3}, "/name"),
            ("call_tool", {"arguments": {"reading": 7}}, "name"),
            ("call_tool", {"name": "fixture__gauge", "arguments": [7]}, "/arguments"),
        ):
            text = rejection_text(await client.call_tool(tool, arguments))
            assert f"arguments for `{tool}`" in text and word in text, (tool, text)
    assert not received.exists(), received.read_text()


# --------------------------------------------------------------------------
# The index on disk: restarts and changed descriptions
# --------------------------------------------------------------------------


async def test_index_survives_a_restart_with_a_broken_upstream(restartable, tmp_path) -> None:
    base = tmp_path / "gw"
    repo = harness.make_git_repo(tmp_path / "repo")
    gw = restartable(three_upstreams_config(repo), base)
    wait_until_indexed(gw, "Shows the working tree status", "git_status")
    gw.stop()

    # Same home; git's command now fails at once.
    missing = tmp_path / "uninstalled" / "mcp-server-git"
    gw = restartable(three_upstreams_config(repo, git_command=str(missing)), base, trust=False)
    git_view = next(v for v in harness.admin_call(gw, "GET", "servers") if v["name"] == "git")
    assert git_view["state"] != "ready", git_view
    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        _, results = await search(client, "show the working tree status", limit=TOP)
        assert "git__git_status" in [r.get("name") for r in results], show(results)
        hit = next(r for r in results if r["name"] == "git__git_status")
        assert hit["server"] == "git" and hit["signature"] == "(repo_path: string)"
        _, results = await search(client, "stage files for commit", server="git", limit=TOP)
        assert results and results[0]["name"] == "git__git_add", show(results)
        # Its tools are still described from the index.
        described = await client.call_tool("describe_tool", {"name": "git__git_status"})
        assert described.structured_content["tool"]["inputSchema"]["required"] == ["repo_path"]

    # The CLI reads the same index once the gateway is gone.
    gw.stop()
    out = run_cli(gw.home, "tools", "search", "show the working tree status", "--json")
    assert "git_status" in [h["name"] for h in json.loads(out)[:TOP]], out


async def test_tools_of_a_broken_upstream_are_marked_with_its_state(restartable, tmp_path) -> None:
    base = tmp_path / "gw"
    repo = harness.make_git_repo(tmp_path / "repo")
    gw = restartable(three_upstreams_config(repo), base)
    wait_until_indexed(gw, "Shows the working tree status", "git_status")
    gw.stop()

    missing = tmp_path / "uninstalled" / "mcp-server-git"
    gw = restartable(three_upstreams_config(repo, git_command=str(missing)), base, trust=False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        git_state = next(v for v in harness.admin_call(gw, "GET", "servers") if v["name"] == "git")["state"]
        if git_state != "starting":
            break
        time.sleep(0.1)
    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        text, results = await search(client, "show the working tree status", limit=TOP)
    hit = next(r for r in results if r["name"] == "git__git_status")
    line = next(line for line in text.splitlines() if line.startswith("git__git_status("))
    assert hit["callable"] is False, hit
    assert "[" in line and git_state in line, f"the line does not say git is {git_state}: {line}"


@pytest.mark.parametrize("how", ["list_changed", "restart"])
async def test_changed_description_is_found_by_its_new_words_only(restartable, tmp_path, how: str) -> None:
    description = tmp_path / "description.txt"
    description.write_text("Reports the tide tables of a harbour.")
    config = harness.server_table(
        "fixture", command=sys.executable, args=[str(DESCRIBED_SERVER)], env={"DESCRIBED_SERVER_FILE": str(description)}
    )
    old_words, new_words = "tide tables in the harbour", "count the penguins on a glacier"
    base = tmp_path / "gw"
    gw = restartable(config, base)
    wait_until_indexed(gw, old_words, "gauge")
    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        _, results = await search(client, new_words)
        assert "fixture__gauge" not in [r.get("name") for r in results], show(results)

    description.write_text("Counts penguins standing on a glacier.")
    if how == "restart":
        gw.stop()
        gw = restartable(config, base, trust=False)
    # list_changed: the fixture notices the new text and tells the gateway.
    wait_until_indexed(gw, new_words, "gauge", state="changed")

    async with Client(search_url(gw), mode="legacy", read_timeout_seconds=30) as client:
        text, results = await search(client, new_words)
        # Found by its new words, but nothing of a definition no person approved reaches the
        # agent, not even its name: only that a tool of its server waits.
        held = [r for r in results if r.get("server") == "fixture" and "name" not in r]
        assert held and held[0]["held"] == 1 and held[0]["callable"] is False, show(results)
        assert "Counts penguins" not in text and "fixture__gauge" not in text, text
        assert "waiting for a person's approval" in text, text

        _, results = await search(client, old_words)
        assert "fixture__gauge" not in [r.get("name") for r in results], f"found by its old words:\n{show(results)}"

        with pytest.raises(MCPError) as caught:
            await client.call_tool("call_tool", {"name": "fixture__gauge", "arguments": {"reading": 1}})
        assert "cannot be called" in caught.value.error.message, caught.value.error.message


# --------------------------------------------------------------------------
# portcullis tools search
# --------------------------------------------------------------------------


def run_cli(home: Path, *args: str) -> str:
    env = {**os.environ, "PORTCULLIS_HOME": str(home)}
    done = subprocess.run(
        [str(harness.gateway_bin()), *args], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, f"portcullis {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


async def test_cli_search_with_and_without_a_running_gateway(restartable, tmp_path) -> None:
    base = tmp_path / "gw"
    repo = harness.make_git_repo(tmp_path / "repo")
    gw = restartable(three_upstreams_config(repo), base)
    wait_until_indexed(gw, "Shows the commit logs", "git_log")

    queries = {"add two numbers": "get-sum", "convert 3pm New York time to London": "convert_time"}
    running: dict[str, list[dict]] = {}
    for query, tool in queries.items():
        hits = json.loads(run_cli(gw.home, "tools", "search", query, "--json", "--limit", "3"))
        assert tool in [h["name"] for h in hits], hits
        assert all(h["state"] == "approved" for h in hits), hits
        running[query] = hits

    text = run_cli(gw.home, "tools", "search", "add two numbers", "--limit", "2")
    assert text.splitlines()[0].startswith(" 1. everything__get-sum(a: number, b: number)"), text
    explained = run_cli(gw.home, "tools", "search", "add two numbers", "--limit", "1", "--explain")
    assert "matched:" in explained, explained

    gw.stop()
    assert gw.proc.poll() is not None and not (gw.home / "gateway.json").exists()
    for query, tool in queries.items():
        hits = json.loads(run_cli(gw.home, "tools", "search", query, "--json", "--limit", "3"))
        # The same answer from the index on disk as from the running gateway.
        assert [(h["server"], h["name"], h["state"]) for h in hits] == [
            (h["server"], h["name"], h["state"]) for h in running[query]
        ], (hits, running[query])
    text = run_cli(gw.home, "tools", "search", "zzyzx qwxv")
    assert "no tools match" in text, text


def test_cli_search_before_any_gateway_ran_finds_nothing(tmp_path) -> None:
    home = tmp_path / "empty-home"
    home.mkdir()
    (home / "config.toml").write_text("")
    out = run_cli(home, "tools", "search", "add two numbers")
    assert "no tools match" in out, out
    assert json.loads(run_cli(home, "tools", "search", "add two numbers", "--json")) == []
