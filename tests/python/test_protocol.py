"""Protocol fidelity through the gateway, handshake era (2025-11-25): server-everything
over stdio as the upstream, the Python SDK as the client in `mode="legacy"` with
sampling, elicitation (form and URL) and roots callbacks.

Everything MCP carries besides tools must survive the trip: progress, server-to-client
requests and their answers, structured content, resource subscriptions, completions,
logging, ping. The routing rule for server-to-client requests (protocol README,
"Server-to-client requests") is tested at the end with several clients at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio
import pytest
from mcp import Client, types

import harness

# ping, setLevel and subscribe are deprecated in 2026-07-28; this module tests the handshake era on purpose.
pytestmark = [pytest.mark.anyio, pytest.mark.gateway, pytest.mark.filterwarnings("ignore::Warning")]

EV = "everything__"


# --------------------------------------------------------------------------
# Client callbacks, recording what reached them
# --------------------------------------------------------------------------


class Peer:
    """One client's callbacks; `name` goes into every answer so tests can tell clients apart."""

    def __init__(self, name: str, *, sampling: bool = True, elicitation: bool = True, roots: bool = True) -> None:
        self.name = name
        self.sampled: list[types.CreateMessageRequestParams] = []
        self.elicited: list[types.ElicitRequestParams] = []
        self.roots_asked = 0
        self.logs: list[types.LoggingMessageNotificationParams] = []
        self.notifications: list[object] = []
        self.sampling_delay = 0.0
        self._sampling = sampling
        self._elicitation = elicitation
        self._roots = roots

    async def sample(self, ctx, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.sampled.append(params)
        if self.sampling_delay:
            await anyio.sleep(self.sampling_delay)
        return types.CreateMessageResult(
            role="assistant",
            model=f"model-of-{self.name}",
            content=types.TextContent(type="text", text=f"answer from {self.name}"),
            stop_reason="endTurn",
        )

    async def elicit(self, ctx, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicited.append(params)
        if getattr(params, "mode", None) == "url":
            return types.ElicitResult(action="accept")
        return types.ElicitResult(action="accept", content={"color": "green", "number": 7, "pets": "dogs"})

    async def list_roots(self, ctx) -> types.ListRootsResult:
        self.roots_asked += 1
        return types.ListRootsResult(roots=[types.Root(uri=f"file:///work/{self.name}", name=f"root of {self.name}")])

    async def log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append(params)

    async def message(self, message) -> None:
        self.notifications.append(message)

    def client(self, url: str, mode: str = "legacy") -> Client:
        return Client(
            url,
            mode=mode,
            read_timeout_seconds=30,
            sampling_callback=self.sample if self._sampling else None,
            elicitation_callback=self.elicit if self._elicitation else None,
            list_roots_callback=self.list_roots if self._roots else None,
            logging_callback=self.log,
            message_handler=self.message,
        )


@pytest.fixture(scope="module")
def gw(tmp_path_factory) -> Iterator[harness.Gateway]:
    """One gateway in front of server-everything (stdio) for the whole module."""
    g = harness.start_gateway(harness.everything_stdio(), tmp_path_factory.mktemp("protocol"))
    try:
        yield g
    finally:
        g.stop()


# --------------------------------------------------------------------------
# Everything MCP carries
# --------------------------------------------------------------------------


async def test_ping(gw) -> None:
    async with Peer("p").client(gw.url) as client:
        assert await client.send_ping() is not None


async def test_long_running_operation_reports_progress(gw) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(p: float, total: float | None, message: str | None) -> None:
        seen.append((p, total, message))

    async with Peer("p").client(gw.url) as client:
        result = await client.call_tool(
            EV + "trigger-long-running-operation", {"duration": 1, "steps": 4}, progress_callback=progress
        )
    assert not result.is_error, harness.text_of(result)
    assert "completed" in harness.text_of(result).lower()
    assert [p for p, _, _ in seen] == [1, 2, 3, 4], seen
    assert all(total == 4 for _, total, _ in seen), seen


async def test_sampling_round_trip(gw) -> None:
    peer = Peer("alice")
    async with peer.client(gw.url) as client:
        result = await client.call_tool(EV + "trigger-sampling-request", {"prompt": "say hi", "maxTokens": 20})
    assert not result.is_error, harness.text_of(result)
    assert len(peer.sampled) == 1
    asked = peer.sampled[0]
    assert asked.max_tokens == 20
    assert "say hi" in json.dumps([m.content.model_dump() for m in asked.messages])
    assert "answer from alice" in harness.text_of(result)


async def test_form_elicitation(gw) -> None:
    peer = Peer("alice")
    async with peer.client(gw.url) as client:
        result = await client.call_tool(EV + "trigger-elicitation-request", {})
    assert not result.is_error, harness.text_of(result)
    assert len(peer.elicited) == 1
    asked = peer.elicited[0]
    assert getattr(asked, "mode", "form") in (None, "form")
    assert asked.requested_schema["type"] == "object"
    text = harness.text_of(result)
    assert "green" in text and "accept" in text.lower(), text


async def test_url_elicitation(gw) -> None:
    peer = Peer("alice")
    async with peer.client(gw.url) as client:
        result = await client.call_tool(
            EV + "trigger-url-elicitation", {"url": "https://example.com/consent", "elicitationId": "e-1"}
        )
    assert not result.is_error, harness.text_of(result)
    assert len(peer.elicited) == 1
    asked = peer.elicited[0]
    assert asked.mode == "url"
    assert asked.url == "https://example.com/consent"
    assert asked.elicitation_id == "e-1"
    assert "completed the URL elicitation" in harness.text_of(result)


async def test_url_elicitation_required_error_reaches_the_client(gw) -> None:
    """The error path (-32042 with the prerequisite elicitation in `data`) passes untouched."""
    async with Peer("alice").client(gw.url) as client:
        session = client.session
        with pytest.raises(Exception) as raised:
            await session.call_tool(
                EV + "trigger-url-elicitation", {"url": "https://example.com/x", "errorPath": True}
            )
    error = getattr(raised.value, "error", None)
    assert error is not None and error.code == -32042, repr(raised.value)
    assert error.data["elicitations"][0]["mode"] == "url"


async def test_roots_list(gateway) -> None:
    # Its own gateway: server-everything caches the roots of its (one) client connection.
    gw = gateway(harness.everything_stdio())
    peer = Peer("alice")
    async with peer.client(gw.url) as client:
        result = await client.call_tool(EV + "get-roots-list", {})
    assert not result.is_error, harness.text_of(result)
    assert peer.roots_asked >= 1
    assert "file:///work/alice" in harness.text_of(result)


async def test_structured_content_with_output_schema(gw) -> None:
    async with Peer("p").client(gw.url) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        tool = tools[EV + "get-structured-content"]
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert "temperature" in json.dumps(tool.output_schema)
        result = await client.call_tool(EV + "get-structured-content", {"location": "New York"})
    assert not result.is_error, harness.text_of(result)
    assert isinstance(result.structured_content, dict)
    assert {"temperature", "conditions", "humidity"} <= set(result.structured_content)
    # The text block mirrors the structured content, as the spec asks of servers.
    assert json.loads(harness.text_of(result)) == result.structured_content


async def test_resource_subscription_updates(gw) -> None:
    peer = Peer("p")
    async with peer.client(gw.url) as client:
        resources = (await client.list_resources()).resources
        assert resources, "no resources listed"
        uri = str(resources[0].uri)
        read = await client.read_resource(uri)
        assert read.contents and str(read.contents[0].uri) == uri
        await client.subscribe_resource(uri)
        toggled = await client.call_tool(EV + "toggle-subscriber-updates", {})
        try:
            with anyio.fail_after(15):
                while not any(_updated_uri(n) == uri for n in peer.notifications):
                    await anyio.sleep(0.1)
        finally:
            if "Started" in harness.text_of(toggled):
                await client.call_tool(EV + "toggle-subscriber-updates", {})
        await client.unsubscribe_resource(uri)


def _updated_uri(notification) -> str | None:
    root = getattr(notification, "root", notification)
    if isinstance(root, types.ResourceUpdatedNotification):
        return str(root.params.uri)
    return None


async def test_completable_prompt(gw) -> None:
    async with Peer("p").client(gw.url) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        name = EV + "completable-prompt"
        assert name in prompts, sorted(prompts)
        ref = types.PromptReference(type="ref/prompt", name=name)
        departments = await client.complete(ref, {"name": "department", "value": "E"})
        assert departments.completion.values == ["Engineering"]
        members = await client.complete(ref, {"name": "name", "value": ""}, context_arguments={"department": "Sales"})
        assert members.completion.values == ["David", "Eve", "Frank"]
        prompt = await client.get_prompt(name, {"department": "Sales", "name": "Eve"})
    assert "Please promote Eve to the head of the Sales team." in json.dumps(prompt.model_dump(mode="json"))


async def test_logging_notifications(gw) -> None:
    peer = Peer("p")
    async with peer.client(gw.url) as client:
        await client.set_logging_level("debug")
        toggled = await client.call_tool(EV + "toggle-simulated-logging", {})
        try:
            with anyio.fail_after(15):
                while not peer.logs:
                    await anyio.sleep(0.1)
        finally:
            if "Started" in harness.text_of(toggled):
                await client.call_tool(EV + "toggle-simulated-logging", {})
    assert peer.logs[0].level in ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
    assert "message" in str(peer.logs[0].data).lower()


# --------------------------------------------------------------------------
# Who answers a server-to-client request when several clients are connected
# --------------------------------------------------------------------------


class LongCall:
    """A long call of `client` on server-everything, for a task group: `run` makes it (its
    result lands in `done["long"]`), `started()` returns once the upstream has reported
    progress on it, so it is in flight there; it then runs for seconds more."""

    def __init__(self, client: Client, done: dict[str, object], duration: float = 3.0) -> None:
        self.client, self.done, self.duration = client, done, duration
        self.progressed = anyio.Event()

    async def run(self) -> None:
        async def progress(p: float, total: float | None, message: str | None) -> None:
            self.progressed.set()

        # A step every 0.1 s, each reported: the first report comes at once.
        arguments = {"duration": self.duration, "steps": int(self.duration * 10)}
        self.done["long"] = await self.client.call_tool(EV + "trigger-long-running-operation", arguments, progress_callback=progress)

    async def started(self, timeout: float = 10.0) -> None:
        with anyio.move_on_after(timeout):
            await self.progressed.wait()
        assert self.progressed.is_set(), f"no progress on the long call within {timeout} s: {self.done}"


async def test_the_caller_answers_not_the_most_recent_client(gateway) -> None:
    gw = gateway(harness.everything_stdio())
    alice, bob = Peer("alice"), Peer("bob")
    async with alice.client(gw.url) as a, bob.client(gw.url) as b:
        await b.list_tools()  # bob is the most recently active client
        result = await a.call_tool(EV + "trigger-sampling-request", {"prompt": "who answers?", "maxTokens": 5})
        assert "answer from alice" in harness.text_of(result)
        assert (len(alice.sampled), len(bob.sampled)) == (1, 0)
        result = await b.call_tool(EV + "trigger-sampling-request", {"prompt": "and now?", "maxTokens": 5})
        assert "answer from bob" in harness.text_of(result)
        assert (len(alice.sampled), len(bob.sampled)) == (1, 1)


async def test_several_calls_in_flight_the_latest_caller_answers(gateway) -> None:
    """Over stdio nothing ties an upstream's request to the call that caused it: with
    several calls in flight on that upstream, the client of the most recent one is asked."""
    gw = gateway(harness.everything_stdio())
    alice, bob = Peer("alice"), Peer("bob")
    async with alice.client(gw.url) as a, bob.client(gw.url) as b:
        async with anyio.create_task_group() as tg:
            done: dict[str, object] = {}
            long_call = LongCall(a, done)
            tg.start_soon(long_call.run)
            await long_call.started()
            sampled = await b.call_tool(EV + "trigger-sampling-request", {"prompt": "busy?", "maxTokens": 5})
            assert "long" not in done, "alice's call ended before bob's: nothing was in flight to route by"
        assert "answer from bob" in harness.text_of(sampled)
        assert (len(alice.sampled), len(bob.sampled)) == (0, 1)
        assert not done["long"].is_error


async def test_a_caller_without_the_capability_is_not_answered_for(gateway) -> None:
    """Another client must not answer for a call it did not make, even while a call of its
    own is in flight on the same upstream: the upstream gets an error instead."""
    gw = gateway(harness.everything_stdio())
    alice, mute = Peer("alice"), Peer("mute", sampling=False)
    async with alice.client(gw.url) as a, mute.client(gw.url) as m:
        async with anyio.create_task_group() as tg:
            done: dict[str, object] = {}
            long_call = LongCall(a, done)
            tg.start_soon(long_call.run)
            await long_call.started()  # alice's call is in flight, and alice could sample
            try:
                result = await m.call_tool(EV + "trigger-sampling-request", {"prompt": "anyone?", "maxTokens": 5})
                text = harness.text_of(result)
                assert result.is_error, text
            except Exception as e:  # an upstream may also answer with a JSON-RPC error
                text = str(e)
            assert "long" not in done, "alice's call ended before the other's: it was not in flight"
        assert "sampling" in text.lower(), text
    assert alice.sampled == []
    assert "did not declare the `sampling` capability" in gw.stderr_text()


async def test_with_no_call_in_flight_the_most_recent_capable_client_answers(gateway) -> None:
    """server-everything asks for roots again when a client says they changed; no call is
    in flight then, so the most recently active client that declared roots answers."""
    gw = gateway(harness.everything_stdio())
    alice, bob, mute = Peer("alice"), Peer("bob"), Peer("mute", roots=False)
    async with alice.client(gw.url) as a, bob.client(gw.url) as b, mute.client(gw.url) as m:
        await a.list_tools()
        await b.list_tools()
        asked_before = (alice.roots_asked, bob.roots_asked)
        # The most recent client now, but it has no roots: bob, active before it, is asked.
        await m.send_roots_list_changed()
        with anyio.fail_after(10):
            while bob.roots_asked == asked_before[1]:
                await anyio.sleep(0.05)
        assert alice.roots_asked == asked_before[0]
