"""Measures the desktop app's start-up time to a served /mcp and its idle
memory (process tree RSS and PSS); run by tests/bench/desktop.sh, which sets
up the display and the session bus. Prints a markdown table."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from proctree import memory_kib, tree

APP = os.environ["APP"]
RUNS = int(os.environ.get("RUNS", "5"))
IDLE = float(os.environ.get("IDLE", "10"))
INITIALIZE = json.dumps({
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}).encode()


def served(home: Path) -> bool:
    """Whether the app's /mcp answers an initialize."""
    try:
        url = json.loads((home / "gateway.json").read_text())["mcp_url"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return False
    req = urllib.request.Request(url, data=INITIALIZE, headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status == 200 and b'"result"' in resp.read()
    except OSError:
        return False


def one_run() -> dict:
    with tempfile.TemporaryDirectory(prefix="portcullis-bench-") as tmp:
        home = Path(tmp)
        (home / "config.toml").write_text('[gateway]\nlisten = "127.0.0.1:0"\n')
        env = {**os.environ, "PORTCULLIS_HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg"), "PORTCULLIS_LOG": "warn"}
        start = time.perf_counter()
        proc = subprocess.Popen([APP], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            while not served(home):
                if proc.poll() is not None:
                    raise SystemExit(f"the app exited ({proc.returncode}) before serving")
                if time.perf_counter() - start > 60:
                    raise SystemExit("the app did not serve /mcp within 60 s")
                time.sleep(0.005)
            startup = time.perf_counter() - start
            time.sleep(IDLE)
            rss, pss, names = memory_kib(tree(proc.pid))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return {"startup_s": startup, "rss_mib": rss / 1024, "pss_mib": pss / 1024, "processes": names}


def main() -> None:
    runs = [one_run() for _ in range(RUNS)]
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    rng = lambda k, f: f"{f.format(min(r[k] for r in runs))}–{f.format(max(r[k] for r in runs))}"  # noqa: E731
    print(f"app: {APP}; {RUNS} runs, memory after {IDLE:.0f} s idle with the window open")
    print(f"processes: {', '.join(runs[-1]['processes'])}\n")
    print("| measure | median | range | goal |")
    print("|---|---:|---:|---:|")
    print(f"| start-up to a served /mcp | {med('startup_s'):.2f} s | {rng('startup_s', '{:.2f}')} s | ≤ 1 s |")
    print(f"| idle memory, tree PSS | {med('pss_mib'):.0f} MiB | {rng('pss_mib', '{:.0f}')} MiB | ≤ 150 MB |")
    print(f"| idle memory, tree RSS | {med('rss_mib'):.0f} MiB | {rng('rss_mib', '{:.0f}')} MiB | |")
    print("\n" + json.dumps(runs))


if __name__ == "__main__":
    main()
