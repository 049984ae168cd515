"""The running gateway's admin API, as the tests use it.

`Admin.of(gw)` reads `<home>/gateway.json` and `<home>/admin.token` (both written by
`portcullis serve`) and asks `GET <api_url>/servers`. The waits poll it, and on timeout
fail with the last answer, so a failing test says what the gateway last reported.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2

import harness

ServerView = dict  # one entry of GET /api/v1/servers: name, state, pid, last_error, …


@dataclass
class Admin:
    api_url: str
    token: str

    @classmethod
    def of(cls, gw: harness.Gateway, timeout: float = 10.0) -> Admin:
        """Reads gateway.json and admin.token from the gateway's home (waits for them briefly)."""
        home: Path = gw.home
        deadline = time.monotonic() + timeout
        while True:
            try:
                runtime = json.loads((home / "gateway.json").read_text())
                token = (home / "admin.token").read_text().strip()
                return cls(api_url=runtime["api_url"], token=token)
            except (FileNotFoundError, json.JSONDecodeError, KeyError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def get(self, path: str) -> httpx2.Response:
        return httpx2.get(
            f"{self.api_url}/{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=10, trust_env=False
        )

    def post(self, path: str, body: dict) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx2.post(f"{self.api_url}/{path}", headers=headers, json=body, timeout=30, trust_env=False)

    def shown(self, server: str, names: list[str] | None = None) -> list[dict]:
        """What a person reviewing `server` is shown, as an approval names it: `{name, hash}`
        of each named tool's current definition (GET tools/detail), or of every tool of the
        server that waits for approval (GET tools/pending)."""
        if names is None:
            # The store records a listing just after the server lists it: wait until every
            # tool the gateway lists as waiting is in the pending list, with its hash.
            deadline = time.monotonic() + 20
            while True:
                listed = self.get(f"tools?server={server}").json()
                count = self.servers().get(server, {}).get("tools", 0)
                waiting = {t["tool"] for t in listed if t["state"] in ("pending", "changed")}
                resp = self.get("tools/pending")
                assert resp.status_code == 200, resp.text
                shown = [{"name": t["name"], "hash": t["hash"]} for t in resp.json() if t["server"] == server]
                if len(listed) >= count and waiting <= {t["name"] for t in shown}:
                    return shown
                assert time.monotonic() < deadline, f"the pending list of {server} never caught up: {listed} vs {shown}"
                time.sleep(0.1)
        out = []
        for name in names:
            resp = httpx2.get(
                f"{self.api_url}/tools/detail",
                params={"server": server, "tool": name},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=10,
                trust_env=False,
            )
            assert resp.status_code == 200, f"tools/detail {server}/{name}: HTTP {resp.status_code} {resp.text}"
            out.append({"name": name, "hash": resp.json()["hash"]})
        return out

    def approve_items(self, server: str, timeout: float = 20.0) -> None:
        """Approves, as a person who read them (and confirmed any high-severity finding),
        the instructions, prompts, resources and templates of `server` waiting for
        approval, once the gateway has read them."""
        self.wait_for(server, lambda s: s.get("items_read") or s["state"] != "ready", "read for its items", timeout)
        items = [{"kind": i["kind"], "name": i["name"], "hash": i["hash"]} for i in self.get("items/pending").json() if i["server"] == server]
        if items:
            resp = self.post(f"servers/{server}/approve", {"items": items, "confirm_high": True})
            assert resp.status_code == 200, f"approving the items of {server}: HTTP {resp.status_code} {resp.text}"

    def approve_tools(self, server: str, names: list[str] | None = None, confirm_high: bool = False) -> httpx2.Response:
        """Approves, as a person who read them, the current definitions of the named tools (or
        of every tool of `server` waiting for approval). A definition with a high-severity
        finding needs `confirm_high`, the person's deliberate confirmation."""
        body = {"tools": self.shown(server, names)}
        if confirm_high:
            body["confirm_high"] = True
        return self.post(f"servers/{server}/approve", body)

    def servers(self) -> dict[str, ServerView]:
        resp = self.get("servers")
        assert resp.status_code == 200, f"GET /servers answered {resp.status_code}: {resp.text}"
        return {s["name"]: s for s in resp.json()}

    def server(self, name: str) -> ServerView:
        views = self.servers()
        assert name in views, f"the admin API does not list `{name}`; it lists {sorted(views)}"
        return views[name]

    def wait_for(
        self, name: str, predicate: Callable[[ServerView], bool], what: str, timeout: float = 30.0
    ) -> ServerView:
        """Polls until `predicate(view of name)` holds; fails with the last view after `timeout` s."""
        deadline = time.monotonic() + timeout
        last: ServerView | None = None
        while True:
            last = self.servers().get(name)
            if last is not None and predicate(last):
                return last
            if time.monotonic() > deadline:
                raise AssertionError(f"`{name}` was not {what} within {timeout} s; last view: {json.dumps(last, indent=2)}")
            time.sleep(0.1)

    def wait_ready(self, name: str, timeout: float = 30.0) -> ServerView:
        return self.wait_for(name, lambda s: s["state"] == "ready", "ready", timeout)

    async def wait_for_async(
        self, name: str, predicate: Callable[[ServerView], bool], what: str, timeout: float = 30.0
    ) -> ServerView:
        """Like wait_for, but sleeps with anyio so a client in the same event loop keeps running."""
        deadline = time.monotonic() + timeout
        last: ServerView | None = None
        while True:
            last = self.servers().get(name)
            if last is not None and predicate(last):
                return last
            if time.monotonic() > deadline:
                raise AssertionError(f"`{name}` was not {what} within {timeout} s; last view: {json.dumps(last, indent=2)}")
            await anyio.sleep(0.1)

    def sign_in_as_a_person(self, name: str) -> None:
        """Approves `name`, opens the sign-in URL it then waits on the way a browser would
        (the fixture's authorization server approves at once), waits until it serves, and
        approves its tools."""
        import urllib.request

        self.approve_server(name)
        view = self.wait_for(name, lambda s: s["state"] == "needs-sign-in", "waiting for sign-in")
        with urllib.request.urlopen(view["sign_in_url"], timeout=20) as page:  # noqa: S310 (loopback fixture)
            assert "Signed in" in page.read().decode()
        self.wait_ready(name)
        self.approve_tools(name)

    def approve_server(self, name: str) -> None:
        """Approves a server (quarantine) without waiting for it to start."""
        resp = self.post(f"servers/{name}/approve", {})
        assert resp.status_code == 200, f"approving {name}: HTTP {resp.status_code} {resp.text}"

    def approve_if_pending(self, name: str, timeout: float = 60.0) -> ServerView:
        """Quarantine, where the gateway has it: a server new to the config waits in `pending`
        for a person's approval, and then its tools do. Approves both, as a person would
        (confirming any high-severity finding), and
        returns the server's view once it has left `starting`. A gateway without quarantine
        starts the server by itself; then this only waits."""
        settled = ("pending", "ready", "backoff", "blocked", "disabled")
        view = self.wait_for(name, lambda s: s["state"] in settled, "past starting", timeout)
        if view["state"] != "pending":
            return view
        resp = self.post(f"servers/{name}/approve", {})
        assert resp.status_code == 200, f"approving {name}: HTTP {resp.status_code} {resp.text}"
        view = self.wait_for(name, lambda s: s["state"] in settled[1:], "started after approval", timeout)
        if view["state"] == "ready":
            resp = self.approve_tools(name, confirm_high=True)
            assert resp.status_code == 200, f"approving the tools of {name}: HTTP {resp.status_code} {resp.text}"
            self.approve_items(name)
        return self.servers()[name]

