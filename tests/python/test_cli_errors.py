"""Errors a person can act on, from the `portcullis` command line (run as a subprocess):
each says what is wrong, where, and what to do (`hint:`), and exits non-zero."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

import harness

pytestmark = pytest.mark.gateway


def run_cli(home: Path, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Runs `portcullis <args>` with PORTCULLIS_HOME=home; it must finish on its own."""
    env = {**os.environ, "PORTCULLIS_HOME": str(home)}
    try:
        return subprocess.run(
            [str(harness.gateway_bin()), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"`portcullis {' '.join(args)}` did not exit within {timeout} s; stderr so far: {e.stderr!r}")


def home_with(tmp_path: Path, config: str, name: str = "home") -> Path:
    home = tmp_path / name
    home.mkdir()
    (home / "config.toml").write_text(config)
    return home


def test_port_in_use(gateway, tmp_path) -> None:
    first = gateway("")
    home = home_with(tmp_path, harness.time_stdio())
    second = run_cli(home, "serve", "--listen", f"127.0.0.1:{first.port}")
    assert second.returncode != 0, second
    err = second.stderr
    assert re.search(r"address (is )?(already )?in use", err), f"no 'address in use' in: {err}"
    assert f"127.0.0.1:{first.port}" in err, err
    assert "hint:" in err and "--listen" in err, f"no hint on what to do: {err}"
    assert "Portcullis listening" not in second.stdout, second.stdout
    assert first.proc.poll() is None, "the first gateway died"
    assert not (home / "gateway.json").exists(), "the failed gateway left a gateway.json behind"


@pytest.mark.parametrize(
    ("config", "line", "column", "says"),
    [
        # a typo in a field name (unknown fields are refused)
        ('[gateway]\nlisten = "127.0.0.1:0"\n\n[servers.a]\ncommand = "x"\nargz = []\n', 6, 1, "argz"),
        # an unclosed string
        ('[servers.a]\ncommand = "x\nargs = []\n', 2, None, "string"),
        # an unclosed table header
        ('[servers.a]\ncommand = "x"\n\n[servers.b\ncommand = "y"\n', 4, None, ""),
        # a value of the wrong type
        ('[servers.a]\ncommand = "x"\ntimeout = "soon"\n', 3, 11, "soon"),
    ],
    ids=["unknown-field", "unclosed-string", "unclosed-table", "wrong-type"],
)
@pytest.mark.parametrize("command", [["serve", "--listen", "127.0.0.1:0"], ["upstream", "list"]], ids=["serve", "list"])
def test_config_syntax_error_gives_line_and_column(
    tmp_path, command: list[str], config: str, line: int, column: int | None, says: str
) -> None:
    home = home_with(tmp_path, config)
    result = run_cli(home, *command)
    assert result.returncode != 0, result
    err = result.stderr
    assert str(home / "config.toml") in err, f"the error does not name the file: {err}"
    m = re.search(r"line (\d+), column (\d+)", err)
    assert m, f"no line and column in: {err}"
    assert int(m.group(1)) == line, f"expected line {line}: {err}"
    if column is not None:
        assert int(m.group(2)) == column, f"expected column {column}: {err}"
    assert says in err, err
    assert "Portcullis listening" not in result.stdout


def test_remove_unknown_server_lists_the_configured_ones(tmp_path) -> None:
    config = harness.time_stdio() + "\n" + harness.git_stdio(tmp_path)
    home = home_with(tmp_path, config)
    result = run_cli(home, "upstream", "remove", "--name", "nope")
    assert result.returncode != 0, result
    err = result.stderr
    assert "`nope`" in err, err
    assert "time" in err and "git" in err, f"the configured servers are not listed: {err}"
    assert "hint:" in err, err
    assert (home / "config.toml").read_text() == config, "a failed remove changed the file"


def test_remove_known_server_keeps_the_rest_of_the_file(tmp_path) -> None:
    """The counterpart: removing a server that exists works and keeps the person's comments."""
    config = "# my servers\n" + harness.time_stdio() + "\n# the repo one\n" + harness.git_stdio(tmp_path)
    home = home_with(tmp_path, config)
    result = run_cli(home, "upstream", "remove", "--name", "git")
    assert result.returncode == 0, result
    text = (home / "config.toml").read_text()
    assert "# my servers" in text, text
    assert "mcp-server-time" in text and "mcp-server-git" not in text, text
