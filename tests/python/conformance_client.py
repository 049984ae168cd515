"""The client the conformance suite drives in client mode: Portcullis in front of the
suite's test server.

    conformance client --command "python tests/python/conformance_client.py" …

The suite starts a test server for a scenario and runs this command with the server's
URL appended (and MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT and
MCP_CONFORMANCE_PROTOCOL_VERSION in the environment). This driver starts
`portcullis serve` with that URL as its only upstream (single-upstream unprefixed
mode), waits until it is ready, then does what an agent would do through the gateway
with the Python SDK: list the tools and call each of them, with the arguments the
scenario's context names or ones made up from the tool's input schema (an echo tool
gets the other tool's schema as the gateway listed it). Elicitation
requests are accepted with the schema's defaults, sampling answered with a fixed
text, roots with one folder. So what the suite observes on the wire is the gateway
acting as an MCP client. Exits non-zero when the gateway or a call fails.

OAuth scenarios (`auth/*`): the gateway signs in to the test server as it would for a
person, and this driver plays the person. It polls the admin API's server list for a
pending sign-in URL and opens it the way a browser would (GET, following redirects); the
suite's authorization server redirects at once to the gateway's own callback, which
finishes the flow. A scenario's `client_id`/`client_secret` context (pre-registration) goes
into the server's `[servers.server.oauth]` table, and so does the client id metadata
document URL the suite expects Portcullis to have published. Client credentials scenarios
give a `client_id` with a `client_secret` or a `private_key_pem` (written to a file for
`private_key`); the gateway then needs no person at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, types

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

warnings.simplefilter("ignore")


def made_up(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments for the required properties of a JSON schema."""
    out: dict[str, Any] = {}
    props = schema.get("properties") or {}
    for name in schema.get("required") or []:
        kind = (props.get(name) or {}).get("type")
        out[name] = {"number": 1, "integer": 1, "boolean": True, "array": [], "object": {}}.get(kind, "x")
    return out


async def elicit(ctx, params: types.ElicitRequestParams) -> types.ElicitResult:
    if getattr(params, "mode", None) == "url":
        return types.ElicitResult(action="accept")
    props = (params.requested_schema or {}).get("properties") or {}
    content = {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}
    return types.ElicitResult(action="accept", content=content)


async def sample(ctx, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    return types.CreateMessageResult(role="assistant", model="conformance-driver", content=types.TextContent(type="text", text="a sample answer"), stop_reason="endTurn")


async def roots(ctx) -> types.ListRootsResult:
    return types.ListRootsResult(roots=[types.Root(uri="file:///test/root", name="Test Root")])


async def drive(gateway_url: str, mode: str, context: dict[str, Any]) -> int:
    planned = {c["name"]: c.get("arguments") or {} for c in context.get("toolCalls") or []}
    failures = 0
    async with Client(gateway_url, mode=mode, read_timeout_seconds=25, elicitation_callback=elicit, sampling_callback=sample, list_roots_callback=roots) as client:
        tools = (await client.list_tools()).tools
        print(f"driver: the gateway lists {[t.name for t in tools]}", file=sys.stderr)
        schemas = {t.name: t.input_schema for t in tools}
        calls = [(n, a) for n, a in planned.items()] or [(t.name, made_up(t.input_schema or {})) for t in tools]
        # json-schema-2020-12-preservation: hand back, verbatim, the schema the gateway listed.
        calls = [(n, {"schema": schemas.get("json_schema_2020_12_tool")} if n == "json_schema_echo" else a) for n, a in calls]
        for name, arguments in calls:
            try:
                result = await client.call_tool(name, arguments)
                print(f"driver: {name}: {'error' if result.is_error else 'ok'} {json.dumps([c.model_dump(mode='json') for c in result.content])[:300]}", file=sys.stderr)
            except Exception as e:  # report and go on: the suite judges what reached it
                failures += 1
                print(f"driver: {name} failed: {e!r}", file=sys.stderr)
    return 1 if failures else 0


# The client id metadata document URL the suite's authorization server expects (auth/basic-cimd).
CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"


def sign_in_as_a_person(gw, stop: threading.Event) -> None:
    """Open every sign-in URL the gateway shows, once, as a browser would."""
    opened: set[str] = set()
    while not stop.wait(0.1):
        try:
            views = harness.admin_call(gw, "GET", "servers")
        except Exception:
            continue
        for v in views:
            url = v.get("sign_in_url")
            if url and url not in opened:
                opened.add(url)
                try:
                    with urllib.request.urlopen(url, timeout=20) as resp:  # noqa: S310 (the suite's local server)
                        print(f"driver: signed in at {url.split('?')[0]}: HTTP {resp.status}", file=sys.stderr)
                except Exception as e:
                    print(f"driver: the sign-in page answered {e!r}", file=sys.stderr)


def oauth_table(context: dict[str, Any], base: Path) -> str:
    lines = ["", "[servers.server.oauth]", f'client_metadata_url = "{CLIENT_METADATA_URL}"']
    for key in ("client_id", "client_secret"):
        if isinstance(context.get(key), str):
            lines.append(f"{key} = {json.dumps(context[key])}")
    if isinstance(context.get("private_key_pem"), str):  # client credentials with private_key_jwt
        # The PEM kept as a secret, as a person would: `portcullis secret set` reads it on stdin.
        env = {**os.environ, "PORTCULLIS_HOME": str(base / "home")}
        stored = subprocess.run([str(harness.gateway_bin()), "secret", "set", "client-key"], input=context["private_key_pem"], env=env, capture_output=True, text=True, timeout=30)
        assert stored.returncode == 0, f"secret set: {stored.stderr}"
        lines.append('private_key = { secret = "client-key" }')
    if isinstance(context.get("valid_jwt"), str):  # workload identity: the platform's token, in a file
        token_file = base / "workload-token.jwt"
        token_file.write_text(context["valid_jwt"])
        lines.append(f"assertion_file = {json.dumps(str(token_file))}")
    return "\n".join(lines) + "\n"


def main() -> int:
    url = sys.argv[-1]
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    version = os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION", "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    mode = "2026-07-28" if version == "2026-07-28" else "legacy"
    base = Path(tempfile.mkdtemp(prefix="portcullis-conformance-"))
    config = '[gateway]\nprefix = false\nsurface = "direct"\n\n' + harness.http_upstream("server", url, transport="streamable-http") + oauth_table(context, base)
    print(f"driver: scenario {scenario!r} at {version or 'default version'}: gateway in {base}", file=sys.stderr)
    gw = harness.start_gateway(config, base, timeout=30, trust=False)
    stop = threading.Event()
    person = threading.Thread(target=sign_in_as_a_person, args=(gw, stop), daemon=True)
    person.start()
    try:
        # A scenario's server can fail the gateway's first handshake (the era is found by
        # trying); the gateway tries it again, and the person waits for that.
        harness.approve_everything(gw, config, through_backoff=True)
        return anyio.run(drive, gw.url, mode, context)
    except Exception as e:
        print(f"driver: {e!r}\n--- gateway stderr ---\n{gw.stderr_text()[-4000:]}", file=sys.stderr)
        return 1
    finally:
        stop.set()
        gw.stop()


if __name__ == "__main__":
    sys.exit(main())
