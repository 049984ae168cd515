"""What approving one tool costs the gateway, by the server's tool count (issue 14).

    PORTCULLIS_BIN=target/release/portcullis .venv/bin/python tests/bench/approval_cost.py [COUNT ...]

For each tool count (default 10 and 1000) it starts `portcullis serve` with the hostile
fixture listing that many tools, approves the server, then approves 30 of its tools one
at a time through the admin API, reading the gateway's CPU time (user + system, from
/proc) around each approval. It prints the mean CPU and wall time per approval. A
benchmark, never a test: the figures depend on the machine.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import harness  # noqa: E402

HOSTILE = Path(__file__).resolve().parents[1] / "python" / "fixtures" / "hostile_upstream.py"
APPROVALS = 30
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def measure(count: int) -> tuple[float, float]:
    extra = max(0, count - 7)  # the fixture has 7 tools of its own
    config = harness.server_table("h", command=sys.executable, args=[str(HOSTILE)], env={"HOSTILE_EXTRA_TOOLS": str(extra)})
    gw = harness.start_gateway(config, Path(tempfile.mkdtemp(prefix="portcullis-approval-")), trust=False)
    try:
        harness.admin_call(gw, "POST", "servers/h/approve", {})
        deadline = time.monotonic() + 60
        while {v["name"]: v for v in harness.admin_call(gw, "GET", "servers")}["h"]["state"] != "ready":
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        pending = harness.pending_shown(gw, "h", extra + 7)
        pending = [p for p in pending if p["name"].startswith("extra_")] or pending
        time.sleep(1)  # let start-up work settle before measuring
        cpu = wall = 0.0
        for tool in pending[:APPROVALS]:
            c0, w0 = cpu_seconds(gw.proc.pid), time.perf_counter()
            harness.admin_call(gw, "POST", "servers/h/approve", {"tools": [tool]})
            wall += time.perf_counter() - w0
            cpu += cpu_seconds(gw.proc.pid) - c0
        n = min(APPROVALS, len(pending))
        return cpu / n * 1000, wall / n * 1000
    finally:
        gw.stop()


def main() -> None:
    counts = [int(a) for a in sys.argv[1:]] or [10, 1000]
    print(f"{'tools':>6}  {'cpu ms/approval':>16}  {'wall ms/approval':>17}")
    for count in counts:
        cpu, wall = measure(count)
        print(f"{count:>6}  {cpu:>16.1f}  {wall:>17.1f}")


if __name__ == "__main__":
    main()
