"""The welcome page (where the desktop app's window opens while no server is
configured; #/welcome in a browser), in a real browser against a real gateway:
it finds the MCP config of a client installed here (Cursor, in a temp HOME),
imports its servers (which start and wait for approval: the real
mcp-server-time), points the client at Portcullis with a backup, and undoes
that.

Takes the README's screenshot of the page (welcome.png).
"""

from __future__ import annotations

import json
import os

import pytest

import browser as br
import harness
import trustkit as tk
from admin import Admin

_missing = br.missing_reason()
if _missing and os.environ.get("CI"):
    pytestmark = [pytest.mark.gateway]
else:
    pytestmark = [pytest.mark.gateway, pytest.mark.skipif(_missing is not None, reason=_missing or "")]



def welcome(gateway, b, home):
    """A gateway whose person's HOME is `home`, and its welcome page signed in, in `b`."""
    gw = gateway("", trust=False, extra_env={"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
    admin = Admin.of(gw)
    b.goto(f"http://127.0.0.1:{gw.port}/ui/#/welcome")
    b.wait("#token-input")
    b.fill("#token-input", admin.token)
    b.click("#token-submit")
    return gw, admin


def test_welcome_imports_a_clients_servers_and_points_it_at_portcullis(gateway, b, tmp_path):
    home = tmp_path / "person"
    cursor = home / ".cursor" / "mcp.json"
    cursor.parent.mkdir(parents=True)
    original = json.dumps({"mcpServers": {
        "time": {"command": str(harness.VENV_BIN / "mcp-server-time"), "args": ["--local-timezone", "UTC"]},
        "notes": {"url": "http://127.0.0.1:9/mcp"},
    }}, indent=2) + "\n"
    cursor.write_text(original)
    gw, admin = welcome(gateway, b, home)
    card = '[data-client="cursor"]'
    b.wait(card, "mcp-server-time")
    b.wait(f'{card} [data-server="notes"]', "http://127.0.0.1:9/mcp")
    assert b.count('[data-client="vscode"]') == 0, "a client without a config file is not offered"
    b.screenshot("welcome")

    b.click(f'{card} >> role=button[name="Import 2 servers"s]')
    b.wait("#toasts", "Imported 2 servers from Cursor")
    names = {s["name"] for s in admin.get("servers").json()}
    assert names == {"time", "notes"}, names
    # Imported like any server a person adds: it starts, and its tools wait for approval.
    admin.wait_ready("time")
    tk.wait_until(lambda: tk.tool_states(admin, "time").get("get_current_time") == "pending", "time's tools to wait for approval")

    b.click(f'{card} >> role=button[name="Point Cursor at Portcullis"s]')
    b.wait(card, "Cursor uses Portcullis")
    written = json.loads(cursor.read_text())
    entry = written["mcpServers"]["portcullis"]
    assert entry["url"] == gw.url and entry["headers"]["Authorization"].startswith("Bearer pc_"), written
    backups = list(cursor.parent.glob("mcp.json.portcullis-backup-*"))
    assert len(backups) == 1 and backups[0].read_text() == original
    # Importing again skips what is there: nothing doubles, Portcullis's own entry is never imported.
    assert admin.post("clients/cursor/import", {}).json()["skipped"] == ["time", "notes"]

    b.click(f'{card} >> role=button[name="Undo"s]')
    b.wait(card, "Point Cursor at Portcullis")
    assert cursor.read_text() == original


def test_claude_code_and_gemini_cli_configs_are_found_imported_and_pointed_at_portcullis(gateway, b, tmp_path):
    """Two more clients, each with its own file and entry: Claude Code's ~/.claude.json (which
    holds much else) and Gemini CLI's ~/.gemini/settings.json (`httpUrl` is streamable HTTP)."""
    home = tmp_path / "person"
    home.mkdir()
    claude = home / ".claude.json"
    claude.write_text(json.dumps({"numStartups": 7, "projects": {"/src/app": {"allowedTools": []}}, "mcpServers": {
        "clock": {"type": "stdio", "command": str(harness.VENV_BIN / "mcp-server-time"), "args": ["--local-timezone", "UTC"]},
    }}, indent=2))
    gemini = home / ".gemini" / "settings.json"
    gemini.parent.mkdir()
    gemini.write_text(json.dumps({"theme": "GitHub", "mcpServers": {"remote": {"httpUrl": "http://127.0.0.1:9/mcp"}}}))
    gw, admin = welcome(gateway, b, home)
    b.wait('[data-client="claude-code"]', "mcp-server-time")
    b.wait('[data-client="gemini-cli"] [data-server="remote"]', "http://127.0.0.1:9/mcp")

    assert admin.post("clients/claude-code/import", {}).status_code == 200
    assert admin.post("clients/gemini-cli/import", {}).status_code == 200
    servers = {s["name"]: s for s in admin.get("servers").json()}
    assert set(servers) == {"clock", "remote"}, servers
    admin.wait_ready("clock")

    for client, path, entry in [
        ("claude-code", claude, {"type": "http", "url": gw.url}),
        ("gemini-cli", gemini, {"httpUrl": gw.url}),
    ]:
        done = admin.post(f"clients/{client}/install", {})
        assert done.status_code == 200, done.text
        written = json.loads(path.read_text())["mcpServers"]["portcullis"]
        # Each with its own client token (the gateway knows it by it).
        assert written.pop("headers")["Authorization"].startswith("Bearer pc_"), written
        assert written == entry, written
    kept = json.loads(claude.read_text())
    assert kept["numStartups"] == 7 and kept["projects"] == {"/src/app": {"allowedTools": []}}, kept
    assert json.loads(gemini.read_text())["theme"] == "GitHub"


def test_zed_jsonc_and_continue_yaml_keep_their_comments_through_import_install_and_undo(gateway, b, tmp_path):
    """A JSON-with-comments client (Zed's settings.json, trailing commas and all) and a YAML
    client (Continue's config.yaml): their servers are found and imported, Portcullis's entry
    is written with every comment and other server kept, and undo gives back the exact bytes."""
    home = tmp_path / "person"
    time_server = str(harness.VENV_BIN / "mcp-server-time")
    zed = home / ".config" / "zed" / "settings.json"
    zed.parent.mkdir(parents=True)
    zed_text = (
        "// Zed settings\n"
        "{\n"
        '  "ui_font_size": 16, // readable\n'
        '  "context_servers": {\n'
        '    /* a clock */\n'
        f'    "clock": {{ "command": "{time_server}", "args": ["--local-timezone", "UTC"], }},\n'
        "  },\n"
        "}\n"
    )
    zed.write_text(zed_text)
    cont = home / ".continue" / "config.yaml"
    cont.parent.mkdir(parents=True)
    cont_text = (
        "# my Continue config\n"
        "name: Local Assistant\n"
        "version: 1.0.0\n"
        "schema: v1\n"
        "mcpServers:\n"
        "  - name: remote   # not running\n"
        "    type: streamable-http\n"
        "    url: http://127.0.0.1:9/mcp\n"
        "rules:\n"
        "  - Be brief\n"
    )
    cont.write_text(cont_text)
    gw, admin = welcome(gateway, b, home)
    b.wait('[data-client="zed"]', "mcp-server-time")
    b.wait('[data-client="continue"] [data-server="remote"]', "http://127.0.0.1:9/mcp")

    assert admin.post("clients/zed/import", {}).status_code == 200
    assert admin.post("clients/continue/import", {}).status_code == 200
    servers = {s["name"] for s in admin.get("servers").json()}
    assert servers == {"clock", "remote"}, servers
    admin.wait_ready("clock")

    setups = {c["client"]: c for c in admin.get("clients").json()["clients"]}
    assert setups["zed"]["syntax"] == "JSON" and setups["continue"]["syntax"] == "YAML"
    def status(client):
        return next(c["status"] for c in admin.get("clients").json()["clients"] if c["client"] == client)

    for client, path, original in [("zed", zed, zed_text), ("continue", cont, cont_text)]:
        done = admin.post(f"clients/{client}/install", {})
        assert done.status_code == 200, done.text
        written = path.read_text()
        assert gw.url in written and "portcullis" in written, written
        # Every line the person wrote is still there, comments included.
        kept = written.splitlines()
        assert all(line in kept for line in original.splitlines()), written
        assert status(client) == "installed"
        undone = admin.post(f"clients/{client}/undo", {})
        assert undone.status_code == 200, undone.text
        assert path.read_text() == original
        assert status(client) == "not_installed"
