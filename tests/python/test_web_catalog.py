"""The web UI's Catalog page, in a real browser (Chromium via playwright-core, see
browser.py) against a real gateway reading the local registry of
fixtures/registry_server.py (real server.json documents, validated against the
published schema):

- the page lists the registry's servers and searches them; each result shows its name,
  version, description and what it offers (npm package, remote, or nothing to run);
- a server's detail shows its title, description, packages and remotes with the values
  each takes; the Add form asks for the chosen one's values, a secret one in a password
  field;
- adding without a required value shows the gateway's error with its hint, and marks the
  field; with the value, the server is added, config.toml names the secret and holds
  its value nowhere (nor does any file in the data folder, nor the page);
- an npm server added from the page, opened with the keyboard, lands in quarantine: the
  Servers page says how many of its tools wait for approval, and that link leads to
  them on the Approvals page.

The npm package is `npx -y @modelcontextprotocol/server-everything@2026.8.31`, found in
tests/node_modules (the gateway runs in tests/) with npm offline: nothing is downloaded.
Takes a screenshot of the page (catalog.png).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import browser as br
import harness
from admin import Admin

_missing = br.missing_reason()
if _missing and os.environ.get("CI"):
    pytestmark = [pytest.mark.gateway]
else:
    pytestmark = [pytest.mark.gateway, pytest.mark.skipif(_missing is not None, reason=_missing or "")]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "registry_server.py"
TESTS = Path(__file__).resolve().parents[1]
EVERYTHING = "io.github.modelcontextprotocol/server-everything"
REMOTE = "io.github.user/remote-weather"
SECRET = "Bearer rw-catalog-7d1e5a09c3b24f68"



@pytest.fixture
def registry() -> Iterator[str]:
    """The local registry's URL."""
    proc = subprocess.Popen([sys.executable, str(FIXTURE)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("REGISTRY "), f"the registry fixture did not start: {line!r}"
        yield line.split()[1]
    finally:
        proc.terminate()
        proc.wait(10)


def row(name: str) -> str:
    return f'[data-registry-server="{name}"]'


def test_a_person_finds_servers_in_the_catalog_and_adds_them_into_quarantine(gateway, registry, b, tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    # No session bus: the secret goes to the encrypted file in the data folder, never a
    # real keyring. npm may use only tests/node_modules: never the network.
    env = {"DBUS_SESSION_BUS_ADDRESS": "", "XDG_RUNTIME_DIR": str(run), "npm_config_offline": "true"}
    gw = gateway(f'[registry]\nurl = "{registry}"\n', trust=False, extra_env=env, cwd=TESTS)

    b.goto(f"http://127.0.0.1:{gw.port}/ui/#/catalog")
    b.wait("#token-input")
    b.fill("#token-input", Admin.of(gw).token)
    b.click("#token-submit")
    b.wait(".nav a.active", "Catalog")
    b.wait(".result-count", "4 servers")
    assert b.count("[data-registry-server]") == 4

    # Search: by name or description, with what each offers.
    b.fill("#catalog-search", "weather")
    b.wait(".result-count", "3 servers for “weather”")
    assert b.texts("[data-registry-server] .tname") == ["io.github.user/local-weather", REMOTE, "io.github.user/weather"]
    assert b.texts(f'{row("io.github.user/local-weather")} .offer') == ["npm"]
    assert b.texts(f"{row(REMOTE)} .offer") == ["remote"]
    assert b.texts(f'{row("io.github.user/weather")} .offer') == ["nothing to run"]
    assert "Remote MCP server reachable over streamable HTTP." in b.text(row(REMOTE))

    # The remote server: what it is, what it offers, what it takes.
    b.click(row(REMOTE))
    b.wait('[data-detail="io.github.user/remote-weather"] h2', "Remote Weather")
    detail = b.text("[data-detail]")
    assert "2.1.0" in detail and "https://github.com/modelcontextprotocol/servers" in detail, detail
    b.wait("#catalog-remotes", "https://{host}/mcp")
    takes = b.text("#catalog-remotes")
    assert "streamable-http" in takes and "Authorization" in takes and "host" in takes, takes
    assert b.count("#catalog-packages") == 0
    b.screenshot("catalog")
    assert b.value("#catalog-local-name") == "remote-weather"
    assert not b.call("visible", "#catalog-docker"), "a remote cannot run in a container"
    auth = '#catalog-add input[data-key="Authorization"]'
    assert b.eval(f"document.querySelector('{auth}').type") == "password"
    assert b.eval(f"document.querySelector('{auth}').getAttribute('aria-required')") == "true"
    assert "required" in b.text('#catalog-add [data-field="Authorization"] label')
    assert "secret" in b.text('#catalog-add [data-field="Authorization"] label')
    host = '#catalog-add input[data-key="host"]'
    assert b.eval(f"document.querySelector('{host}').type") == "text"
    assert b.eval(f"document.querySelector('{host}').placeholder") == "default: api.example.com"

    # A required value not given: the gateway's error with its hint, the field marked.
    b.fill("#catalog-local-name", "weather")
    b.click("#catalog-add-submit")
    b.wait("#catalog-add .alert.error", "needs Authorization (secret)")
    assert "Hint: give --env Authorization=" in b.text("#catalog-add .alert.error")
    assert b.eval(f"document.querySelector('{auth}').getAttribute('aria-invalid')") == "true"
    assert b.eval("document.activeElement.dataset.key") == "Authorization"
    b.eval("document.querySelector('#catalog-add .alert.error').scrollIntoView({block: 'center'})")
    b.screenshot("catalog-missing-value")
    assert "weather" not in tomllib.loads((gw.home / "config.toml").read_text()).get("servers", {})

    # With the value: added, the secret stored apart, the config naming it.
    b.fill(auth, SECRET)
    b.click("#catalog-add-submit")
    b.wait("#catalog-added", "It is in quarantine")
    added = b.text("#catalog-added")
    assert "Added weather from io.github.user/remote-weather 2.1.0" in added, added
    assert "Authorization is kept in the encrypted secrets file as the secret weather.Authorization" in added, added
    config = (gw.home / "config.toml").read_text()
    assert 'url = "https://api.example.com/mcp"' in config, config
    assert 'Authorization = { secret = "weather.Authorization" }' in config, config
    for path in gw.home.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"{path} holds the secret"
    assert b.eval(f"document.documentElement.outerHTML.includes({SECRET!r}) || [...document.querySelectorAll('input')].some((i) => i.value === {SECRET!r})") is False

    # The npm server, with the keyboard: search, Enter on the result, add.
    b.fill("#catalog-search", "everything")
    b.press("#catalog-search", "Enter")
    b.wait(".result-count", "1 server for “everything”")
    b.press(row(EVERYTHING), "Enter")
    b.wait("#catalog-packages", "@modelcontextprotocol/server-everything@2026.8.31")
    assert b.count("#catalog-packages .offer-block") == 2
    assert b.texts("#catalog-packages .offer-block .s-ok") == ["Portcullis runs this one"]
    assert b.value("#catalog-local-name") == "server-everything"
    assert b.call("visible", "#catalog-docker"), "a package may run in a container"
    assert "It takes no values." in b.text("#catalog-add")
    b.click("#catalog-add-submit")
    b.wait("#catalog-added", "npm @modelcontextprotocol/server-everything@2026.8.31 (stdio)")
    assert 'args = ["-y", "@modelcontextprotocol/server-everything@2026.8.31", "stdio"]' in (gw.home / "config.toml").read_text()

    # The Servers page: both there, the npm one's tools waiting, linked to Approvals.
    b.click('#catalog-added a[href="#/servers"]')
    b.wait('[data-server="weather"]')
    b.wait('[data-server="server-everything"] a.waiting', "wait for your approval", timeout=60)
    b.screenshot("catalog-servers")
    b.click('[data-server="server-everything"] a.waiting')
    b.wait('[data-group="server-everything"]', "waiting")
    b.wait('[data-group="server-everything"] .tname', "echo")
