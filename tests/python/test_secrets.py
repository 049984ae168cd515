"""Secrets end to end: values the config names by `{ secret = "name" }` live in the OS
keyring (a real GNOME Keyring on a private D-Bus session bus, see
harness.secret_service), or, without one, in an encrypted file; they reach the server's
environment and nothing on disk holds them.

- `portcullis secret set` stores a value in the keyring; the upstream (fixtures/
  env_reporter.py) reports a hash of the variable it got; a byte search of the data
  folder, the config and the logs finds no value; `secret list` shows names and users.
- Setting a new value restarts the server without asking for approval again; naming
  another secret asks.
- `upstream add --env` and `upstream import` move credential-looking values to the
  keyring and write references; `--plain-env` keeps a value in the file.
- OAuth tokens survive a restart through the keyring, and plain tokens an older
  Portcullis left in its database move there on the next start.
- Without a keyring: the encrypted file, with a key file or a passphrase.
- A config written before secrets existed: its credentials move on the first start,
  comments kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from mcp import Client

import harness
from admin import Admin

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

REPORTER = Path(__file__).resolve().parent / "fixtures" / "env_reporter.py"
SECRET = "ghp_9fQ2xK7LmV3pR8sT1wY6zA4bC0dE5gH2jN7q"
ROTATED = "ghp_Z3kW8pX1qL6mR9tV2yB5nC7dF0gH4jK8sU1e"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def reporter(env_toml: str, name: str = "reporter") -> str:
    """The env_reporter fixture as a server, with `env = <env_toml>` written as given."""
    return (
        f"[servers.{name}]\ncommand = {json.dumps(sys.executable)}\n"
        f"args = [{json.dumps(str(REPORTER))}]\nenv = {env_toml}\n"
    )


def cli(home: Path, env: dict[str, str], *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    full.update({"PORTCULLIS_HOME": str(home), **env})
    return subprocess.run([str(harness.gateway_bin()), *args], env=full, input=input, capture_output=True, text=True, timeout=60)


def without_bus() -> dict[str, str]:
    """No session bus: what a headless machine has."""
    return {"DBUS_SESSION_BUS_ADDRESS": "", "XDG_RUNTIME_DIR": tempfile.mkdtemp()}


async def reported(gw: harness.Gateway, variable: str = "REPORTED", server: str = "reporter") -> str:
    async with Client(gw.url, mode="legacy") as client:
        result = await client.call_tool(f"{server}__env_hash", {"name": variable})
        assert not result.is_error, harness.text_of(result)
        return harness.text_of(result)


def assert_nowhere(folder: Path, *values: str) -> None:
    """No file under `folder` (data, config, logs) holds any of `values`, as bytes."""
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for v in values:
                assert v.encode() not in data, f"{path} holds a secret value"


def test_secret_names_and_missing_secrets_get_clear_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = cli(home, without_bus(), "secret", "set", "has space", input="x")
    assert bad.returncode != 0 and "is not a secret name" in bad.stderr and "hint:" in bad.stderr, bad.stderr
    empty = cli(home, without_bus(), "secret", "set", "ok-name", input="")
    assert empty.returncode != 0 and "no value was given" in empty.stderr, empty.stderr
    gone = cli(home, without_bus(), "secret", "rm", "never-set")
    assert gone.returncode != 0 and "there is no secret `never-set`" in gone.stderr, gone.stderr


async def test_a_keyring_secret_reaches_the_server_rotates_without_approval_and_is_on_no_disk(tmp_path: Path) -> None:
    with harness.secret_service(tmp_path / "bus") as keyring:
        env = {"DBUS_SESSION_BUS_ADDRESS": keyring.address}
        base = tmp_path / "gw"
        home = base / "home"
        stored = cli(home, env, "secret", "set", "github-pat", input=SECRET + "\n")
        assert stored.returncode == 0, stored.stderr
        assert "stored `github-pat` in the OS keyring" in stored.stdout, stored.stdout
        assert keyring.lookup(service=f"portcullis:{home}", username="github-pat") == SECRET

        config = reporter('{ REPORTED = { secret = "github-pat" }, LOG_LEVEL = "debug" }')
        gw = harness.start_gateway(config, base, extra_env=env)
        try:
            admin = Admin.of(gw)
            assert await reported(gw) == sha(SECRET)
            pid = admin.server("reporter")["pid"]

            # A new value: the server restarts with it, its approval untouched.
            rotated = cli(home, env, "secret", "set", "github-pat", input=ROTATED)
            assert rotated.returncode == 0, rotated.stderr
            assert "restarted, to use the new value: reporter" in rotated.stdout, rotated.stdout
            view = admin.wait_for("reporter", lambda s: s["state"] == "ready" and s["pid"] != pid, "restarted")
            assert await reported(gw) == sha(ROTATED)
            assert not [t for t in admin.get("tools/pending").json() if t["server"] == "reporter"]
            assert view["state"] == "ready"

            listed = cli(home, env, "secret", "list")
            assert listed.returncode == 0, listed.stderr
            row = next(line for line in listed.stdout.splitlines() if line.startswith("github-pat"))
            assert "keyring" in row and "reporter: env REPORTED" in row, listed.stdout
            as_json = json.loads(cli(home, env, "secret", "list", "--json").stdout)
            assert as_json[0]["name"] == "github-pat" and as_json[0]["backend"] == "keyring", as_json

            # Naming another secret changes what the server gets: a person approves again.
            (home / "config.toml").write_text(harness.direct_unless_said(reporter('{ REPORTED = { secret = "github-pat" }, OTHER = { secret = "other-key" } }')))
            admin.wait_for("reporter", lambda s: s["state"] == "pending", "held for approval again")
        finally:
            gw.stop()
        assert_nowhere(base, SECRET, ROTATED)
        assert keyring.lookup(service=f"portcullis:{home}", username="github-pat") == ROTATED


async def test_a_missing_secret_keeps_the_server_stopped_with_the_command_that_fixes_it(tmp_path: Path) -> None:
    gw = harness.start_gateway(reporter('{ REPORTED = { secret = "not-set-yet" } }'), tmp_path, extra_env=without_bus(), trust=False)
    try:
        admin = Admin.of(gw)
        admin.approve_server("reporter")
        view = admin.wait_for("reporter", lambda s: bool(s["last_error"]), "failed")
        assert "the secret `not-set-yet` is not set" in view["last_error"], view
        assert "portcullis secret set not-set-yet" in view["last_error"], view
    finally:
        gw.stop()


def test_upstream_add_and_import_move_credentials_unless_kept_plain(tmp_path: Path) -> None:
    with harness.secret_service(tmp_path / "bus") as keyring:
        env = {"DBUS_SESSION_BUS_ADDRESS": keyring.address}
        home = tmp_path / "home"
        added = cli(
            home, env, "upstream", "add", "--name", "gh", "--command", sys.executable, "--args", str(REPORTER),
            "--env", f"GITHUB_PERSONAL_ACCESS_TOKEN={SECRET}", "--env", "LOG_LEVEL=debug",
            "--env", f"WEBHOOK={ROTATED}", "--plain-env", "DEBUG_TOKEN=kept-on-purpose",
        )
        assert added.returncode == 0, added.stderr
        assert "env GITHUB_PERSONAL_ACCESS_TOKEN moved to the OS keyring as secret `gh.GITHUB_PERSONAL_ACCESS_TOKEN`" in added.stdout, added.stdout
        assert "env WEBHOOK moved" in added.stdout, "a value shaped like a token moves whatever its name"
        text = (home / "config.toml").read_text()
        assert 'GITHUB_PERSONAL_ACCESS_TOKEN = { secret = "gh.GITHUB_PERSONAL_ACCESS_TOKEN" }' in text, text
        assert 'LOG_LEVEL = "debug"' in text and 'DEBUG_TOKEN = "kept-on-purpose"' in text, text
        assert keyring.lookup(service=f"portcullis:{home}", username="gh.GITHUB_PERSONAL_ACCESS_TOKEN") == SECRET

        claude = tmp_path / "claude_desktop_config.json"
        claude.write_text(json.dumps({"mcpServers": {"search": {"command": "npx", "args": ["-y", "some-search-mcp"], "env": {"SEARCH_API_KEY": "sk-live-4f9a8b7c6d5e4f3a2b1c", "REGION": "eu"}}}}))
        imported = cli(home, env, "upstream", "import", str(claude))
        assert imported.returncode == 0, imported.stderr
        assert "env SEARCH_API_KEY moved to the OS keyring" in imported.stdout, imported.stdout
        text = (home / "config.toml").read_text()
        assert 'SEARCH_API_KEY = { secret = "search.SEARCH_API_KEY" }' in text and 'REGION = "eu"' in text, text

        listed = cli(home, env, "secret", "list")
        assert "search.SEARCH_API_KEY" in listed.stdout and "search: env SEARCH_API_KEY" in listed.stdout, listed.stdout
        assert_nowhere(home, SECRET, ROTATED, "sk-live-4f9a8b7c6d5e4f3a2b1c")
        assert SECRET not in listed.stdout + added.stdout + added.stderr


async def test_oauth_tokens_live_in_the_keyring_survive_a_restart_and_old_plain_ones_move_there(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    with harness.secret_service(tmp_path / "bus") as keyring, harness.oauth_fixture(events) as url:
        env = {"DBUS_SESSION_BUS_ADDRESS": keyring.address}
        config = harness.http_upstream("remote", url, transport="streamable-http")
        base = tmp_path / "gw"
        home = base / "home"
        service = f"portcullis:{home}"

        def authorizations() -> int:
            return [json.loads(line)["event"] for line in events.read_text().splitlines()].count("authorize")

        async def whoami(gw: harness.Gateway) -> str:
            async with Client(gw.url, mode="legacy") as client:
                return harness.text_of(await client.call_tool("remote__whoami", {}))

        gw = harness.start_gateway(config, base, extra_env=env, trust=False)
        try:
            admin = Admin.of(gw)
            admin.sign_in_as_a_person("remote")
            assert await whoami(gw) == "hello from behind OAuth"
        finally:
            gw.stop()
        kept = keyring.lookup(service=service, username="oauth:remote:tokens")
        assert kept and json.loads(kept)["access_token"], "the tokens are not in the keyring"
        tokens = json.loads(kept)
        with closing(sqlite3.connect(home / "portcullis.db")) as db, db:
            assert db.execute("SELECT access_token, refresh_token FROM oauth_tokens").fetchall() == [("", None)]
        assert_nowhere(base, tokens["access_token"], tokens["refresh_token"])

        # Restarted: signed in from the keyring, no second authorization.
        gw = harness.start_gateway(config, base, extra_env=env, trust=False)
        try:
            Admin.of(gw).wait_ready("remote")
            assert await whoami(gw) == "hello from behind OAuth"
        finally:
            gw.stop()
        assert authorizations() == 1

        # An older Portcullis's data folder: the tokens in plain text in its database.
        with closing(sqlite3.connect(home / "portcullis.db")) as db, db:
            db.execute("UPDATE oauth_tokens SET access_token = ?, refresh_token = ?", (tokens["access_token"], tokens["refresh_token"]))
            db.execute("DELETE FROM secrets WHERE name LIKE 'oauth:%'")
        keyring.clear(service=service, username="oauth:remote:tokens")
        gw = harness.start_gateway(config, base, extra_env=env, trust=False)
        try:
            Admin.of(gw).wait_ready("remote")
            assert await whoami(gw) == "hello from behind OAuth"
            log = gw.stderr_text()
        finally:
            gw.stop()
        assert "moved the OAuth tokens of `remote`" in log, log
        assert authorizations() == 1, "the moved tokens were not used"
        with closing(sqlite3.connect(home / "portcullis.db")) as db, db:
            assert db.execute("SELECT access_token FROM oauth_tokens").fetchall() == [("",)]
        assert keyring.lookup(service=service, username="oauth:remote:tokens")


async def test_without_a_keyring_secrets_go_to_an_encrypted_file_with_a_key_file_or_a_passphrase(tmp_path: Path) -> None:
    # A key file beside the encrypted file.
    home = tmp_path / "keyfile" / "home"
    stored = cli(home, without_bus(), "secret", "set", "github-pat", input=SECRET)
    assert stored.returncode == 0, stored.stderr
    assert "stored `github-pat` in the encrypted secrets file" in stored.stdout
    warning = stored.stderr.strip()
    assert warning.startswith("warning: no OS keyring") and "secrets.key" in warning and "not against programs running as you" in warning, warning
    assert len(warning.splitlines()) == 1, "one line"
    assert (home / "secrets.key").stat().st_mode & 0o777 == 0o600
    assert_nowhere(home, SECRET)
    gw = harness.start_gateway(reporter('{ REPORTED = { secret = "github-pat" } }'), tmp_path / "keyfile", extra_env=without_bus())
    try:
        assert await reported(gw) == sha(SECRET)
    finally:
        gw.stop()

    # A passphrase in PORTCULLIS_SECRETS_KEY: no key on disk at all.
    base = tmp_path / "phrase"
    home = base / "home"
    phrase = {**without_bus(), "PORTCULLIS_SECRETS_KEY": "correct horse battery staple"}
    stored = cli(home, phrase, "secret", "set", "github-pat", input=SECRET)
    assert stored.returncode == 0, stored.stderr
    assert "PORTCULLIS_SECRETS_KEY" in stored.stderr, stored.stderr
    assert not (home / "secrets.key").exists()
    config = reporter('{ REPORTED = { secret = "github-pat" } }')
    gw = harness.start_gateway(config, base, extra_env=phrase)
    try:
        assert await reported(gw) == sha(SECRET)
    finally:
        gw.stop()
    # Without the passphrase the server is not started, and the error says what is missing.
    gw = harness.start_gateway(config, base, extra_env=without_bus(), trust=False)
    try:
        view = Admin.of(gw).wait_for("reporter", lambda s: bool(s["last_error"]), "failed")
        assert "sealed with a passphrase" in view["last_error"] and "PORTCULLIS_SECRETS_KEY" in view["last_error"], view
    finally:
        gw.stop()
    assert_nowhere(base, SECRET)


async def test_the_first_start_moves_a_configs_credentials_keeping_its_comments(tmp_path: Path) -> None:
    with harness.secret_service(tmp_path / "bus") as keyring:
        env = {"DBUS_SESSION_BUS_ADDRESS": keyring.address}
        config = "# my laptop's servers\n" + reporter(f'{{ REPORTED = "{SECRET}", LOG_LEVEL = "debug" }}  # the token is new')
        gw = harness.start_gateway(config, tmp_path, extra_env=env)
        try:
            assert await reported(gw) == sha(SECRET)
            log = gw.stderr_text()
        finally:
            gw.stop()
        text = (gw.home / "config.toml").read_text()
        assert "# my laptop's servers\n" in text, text
        assert 'REPORTED = { secret = "reporter.REPORTED" }, LOG_LEVEL = "debug" }  # the token is new' in text, text
        assert "moved 1 credential(s)" in log and "[servers.reporter] env REPORTED moved to the OS keyring" in log, log
        assert keyring.lookup(service=f"portcullis:{gw.home}", username="reporter.REPORTED") == SECRET
        assert_nowhere(gw.home, SECRET)
        assert SECRET not in log
