"""Twenty servers on one laptop: `start = "always"` against `start = "on-demand"` (issue 18).

    PORTCULLIS_BIN=target/release/portcullis .venv/bin/python tests/bench/many_servers.py [RUNS]

Configures 20 servers from real packages (server-everything, mcp-server-time and
mcp-server-git, several instances each, every one its own process), lets one gateway see
and approve them all, then for each mode starts `portcullis serve` on that home RUNS
times (default 3) and measures:

- start to first search: from spawning the gateway to the first tool search over the
  admin API that finds a tool;
- memory when idle: the proportional set size (PSS, so shared pages count once) of the
  gateway and every process below it, once each mode has settled (always: every server
  ready; on-demand: nothing started);
- first call to a cold server: on-demand, the time of the first `tools/call` to a
  sleeping server (its start included); always, the same call to a running one.

Prints a markdown table of medians. A benchmark, never a test: the figures depend on the
machine.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import harness  # noqa: E402
from proctree import memory_kib, tree  # noqa: E402

SERVERS = {"everything": 8, "time": 6, "git": 6}


def config(base: Path, start: str) -> str:
    tables = [f'[gateway]\nsurface = "direct"\nstart = "{start}"\n']
    for kind, count in SERVERS.items():
        for i in range(count):
            name = f"{kind}{i}"
            if kind == "everything":
                tables.append(harness.everything_stdio(name))
            elif kind == "time":
                tables.append(harness.time_stdio(name))
            else:
                repo = base / f"repo{i}"
                if not (repo / ".git").exists():
                    harness.make_git_repo(repo)
                tables.append(harness.git_stdio(repo, name))
    return "\n".join(tables)


def first_search_ms(gw: harness.Gateway, spawned: float) -> float:
    while True:
        try:
            if harness.admin_call(gw, "GET", "search?q=current%20time"):
                return (time.perf_counter() - spawned) * 1000
        except Exception:  # noqa: BLE001 (not listening yet)
            pass
        time.sleep(0.002)


def call_ms(gw: harness.Gateway) -> float:
    from trustkit import McpSession

    with McpSession(gw.url) as s:
        t0 = time.perf_counter()
        s.call("time0__get_current_time", {"timezone": "UTC"})
        return (time.perf_counter() - t0) * 1000


def settle(gw: harness.Gateway, mode: str) -> None:
    want = "ready" if mode == "always" else "idle"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = {v["state"] for v in harness.admin_call(gw, "GET", "servers")}
        if states == {want}:
            time.sleep(2)  # let start-up work finish before measuring memory
            return
        time.sleep(0.2)
    raise SystemExit(f"{mode}: the servers did not all become {want}")


def run(base: Path, mode: str) -> tuple[float, float, float]:
    text = config(base, mode)
    spawned = time.perf_counter()
    gw = harness.start_gateway(text, base, trust=False)
    try:
        search = first_search_ms(gw, spawned)
        settle(gw, mode)
        memory = memory_kib(tree(gw.proc.pid))[1] / 1024  # PSS
        first = call_ms(gw)
        return search, memory, first
    finally:
        gw.stop()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    base = Path(tempfile.mkdtemp(prefix="portcullis-many-"))
    # Seen and approved once, as a person would have: the on-demand servers list their tools.
    gw = harness.start_gateway(config(base, "on-demand"), base, trust=False)
    harness.approve_everything(gw, config(base, "on-demand"), timeout=300)
    gw.stop()
    rows = {}
    for mode in ("always", "on-demand"):
        results = [run(base, mode) for _ in range(runs)]
        rows[mode] = [statistics.median(r[i] for r in results) for i in range(3)]
    print(f"20 servers ({', '.join(f'{n} x {k}' for k, n in SERVERS.items())}), median of {runs} runs\n")
    print("| mode | start to first search | memory when idle (PSS, gateway and children) | first call to time0 |")
    print("|---|---|---|---|")
    for mode, (search, memory, first) in rows.items():
        print(f"| {mode} | {search:.0f} ms | {memory:.0f} MiB | {first:.0f} ms |")


if __name__ == "__main__":
    main()
