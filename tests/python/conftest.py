"""Fixtures for Portcullis's Python tests.

    def test_x(gateway, tmp_path):
        gw = gateway(harness.everything_stdio() + harness.time_stdio())
        async with Client(gw.url, mode="legacy") as client: ...

Tests marked `@pytest.mark.gateway` are skipped, with the reason, while the gateway
binary (target/debug/portcullis, or $PORTCULLIS_BIN) does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import harness


def _missing_gateway_reason() -> str | None:
    binary = harness.gateway_bin()
    if binary.is_file():
        return None
    return f"gateway binary not found at {binary}: build it with `cargo build -p portcullis` or set PORTCULLIS_BIN"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing_gateway_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "gateway" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., harness.Gateway]]:
    """Factory: gateway(config_toml, **kw) starts a gateway with that config.toml in a fresh
    PORTCULLIS_HOME and returns a harness.Gateway (.url, .home, .proc, .stderr_text()).
    Every gateway started is terminated and waited for at teardown."""
    started: list[harness.Gateway] = []

    def start(config_toml: str, **kwargs) -> harness.Gateway:
        reason = _missing_gateway_reason()
        if reason is not None:
            pytest.skip(reason)
        try:
            gw = harness.start_gateway(config_toml, tmp_path_factory.mktemp("gateway"), **kwargs)
        except harness.GatewayStartError as e:
            failure = str(e)
        else:
            started.append(gw)
            return gw
        pytest.fail(failure, pytrace=False)  # outside `except`: no chained traceback

    yield start

    for gw in started:
        gw.stop()


@pytest.fixture
def b():
    """A real Chromium for the web UI tests (tests/python/browser.py); a test fails when
    the page logged an error. HTTP errors the page handles (a refused token, a duplicate
    name, a missing value) are logged by Chromium as "Failed to load resource"; anything
    else is a bug in the page."""
    import browser as br

    missing = br.missing_reason()
    if missing:
        pytest.fail(f"the web UI tests cannot run: {missing}")
    with br.Browser.start() as page:
        yield page
        errors = [e for e in page.errors() if "Failed to load resource" not in e]
        assert not errors, f"the page logged errors: {errors}"
