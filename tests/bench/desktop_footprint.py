"""Measures the desktop app's start-up time to a served /mcp and its idle
memory (process tree RSS and PSS) with its window open, after the window is
closed (as a person closes it), opened again by a second launch, and when
started --hidden; run by tests/bench/desktop.sh, which sets up the display
and the session bus. Prints a markdown table."""

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
from xclose import close_windows

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


def measure(pid: int) -> dict:
    rss, pss, names = memory_kib(tree(pid))
    return {"rss_mib": rss / 1024, "pss_mib": pss / 1024, "processes": names}


def launch(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PORTCULLIS_HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg"), "PORTCULLIS_LOG": "warn"}
    return subprocess.Popen([APP, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_served(home: Path, proc: subprocess.Popen, start: float) -> float:
    while not served(home):
        if proc.poll() is not None:
            raise SystemExit(f"the app exited ({proc.returncode}) before serving")
        if time.perf_counter() - start > 60:
            raise SystemExit("the app did not serve /mcp within 60 s")
        time.sleep(0.005)
    return time.perf_counter() - start


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def one_run() -> dict:
    """Launched with its window: open, closed (as a person closes it), opened
    again by a second launch (which exits). Then launched --hidden."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="portcullis-bench-") as tmp:
        home = Path(tmp)
        (home / "config.toml").write_text('[gateway]\nlisten = "127.0.0.1:0"\n')
        start = time.perf_counter()
        proc = launch(home)
        try:
            out["startup_s"] = wait_served(home, proc, start)
            time.sleep(IDLE)
            out["open"] = measure(proc.pid)
            if close_windows("Portcullis") != 1:
                raise SystemExit("found no window titled Portcullis to close")
            time.sleep(IDLE)
            out["closed"] = measure(proc.pid)
            second = launch(home)
            if second.wait(timeout=30) != 0:
                raise SystemExit(f"the second launch exited with {second.returncode}")
            time.sleep(IDLE)
            out["reopened"] = measure(proc.pid)
        finally:
            stop(proc)
    with tempfile.TemporaryDirectory(prefix="portcullis-bench-") as tmp:
        home = Path(tmp)
        (home / "config.toml").write_text('[gateway]\nlisten = "127.0.0.1:0"\n')
        start = time.perf_counter()
        proc = launch(home, "--hidden")
        try:
            out["hidden_startup_s"] = wait_served(home, proc, start)
            time.sleep(IDLE)
            out["hidden"] = measure(proc.pid)
        finally:
            stop(proc)
    return out


PHASES = [
    ("open", "window open"),
    ("closed", "window closed"),
    ("reopened", "window opened again (second launch)"),
    ("hidden", "started --hidden"),
]


def main() -> None:
    runs = [one_run() for _ in range(RUNS)]
    med = lambda get: statistics.median(get(r) for r in runs)  # noqa: E731
    rng = lambda get, f: f"{f.format(min(get(r) for r in runs))}–{f.format(max(get(r) for r in runs))}"  # noqa: E731
    print(f"app: {APP}; {RUNS} runs, memory after {IDLE:.0f} s idle in each state\n")
    print("| measure | median | range | goal |")
    print("|---|---:|---:|---:|")
    for key, label in (("startup_s", "with its window"), ("hidden_startup_s", "--hidden")):
        get = lambda r, k=key: r[k]  # noqa: E731
        print(f"| start-up to a served /mcp, {label} | {med(get):.2f} s | {rng(get, '{:.2f}')} s | ≤ 1 s |")
    for key, label in PHASES:
        pss = lambda r, k=key: r[k]["pss_mib"]  # noqa: E731
        rss = lambda r, k=key: r[k]["rss_mib"]  # noqa: E731
        print(f"| tree PSS, {label} | {med(pss):.0f} MiB | {rng(pss, '{:.0f}')} MiB | ≤ 150 MB |")
        print(f"| tree RSS, {label} | {med(rss):.0f} MiB | {rng(rss, '{:.0f}')} MiB | |")
    print()
    for key, label in PHASES:
        print(f"processes, {label}: {', '.join(runs[-1][key]['processes'])}")
    print("\n" + json.dumps(runs))


if __name__ == "__main__":
    main()
