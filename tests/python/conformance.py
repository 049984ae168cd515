"""Runs the official MCP conformance suite against Portcullis, in both modes and for
both requirement sets, and fails on any failure not listed as expected.

    python tests/python/conformance.py [--out DIR] [--only server|client] [--requirements REV]

- server mode: `portcullis serve` fronting fixtures/conformance_server.py as its only
  upstream, unprefixed (`[gateway] prefix = false`), every server and tool approved;
  the suite connects to the gateway's /mcp.
- client mode: for each scenario the suite starts its test server and runs
  conformance_client.py, which puts the gateway in front of it and acts through it.

Each run passes `--expected-failures tests/conformance/expected-failures-<REV>.yml`
(its `server:` and `client:` lists, reasons in CONFORMANCE.md); the suite itself
exits non-zero on a failure that is not listed and on a listed one that now passes.
Results go to DIR (default target/conformance), one folder per mode and revision,
and each run's summary is printed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

REVISIONS = ["2025-11-25", "2026-07-28"]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "conformance_server.py"
DRIVER = Path(__file__).resolve().parent / "conformance_client.py"
EXPECTED = harness.REPO_ROOT / "tests" / "conformance"


def summary(output: str) -> str:
    """The suite's closing summary (everything from its SUMMARY banner on)."""
    for banner in ("=== SUITE SUMMARY ===", "=== SUMMARY ==="):
        if banner in output:
            return output[output.index(banner) :].strip()
    return output[-3000:].strip()


def run_suite(args: list[str], out: Path, label: str) -> bool:
    out.mkdir(parents=True, exist_ok=True)
    cmd = harness.conformance_cmd(*args, "-o", str(out))
    print(f"\n==== conformance {label} ====\n$ {' '.join(cmd)}", flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    text = done.stdout + done.stderr
    (out / "output.txt").write_text(text)
    print(summary(text), flush=True)
    print(f"==== {label}: {'ok' if done.returncode == 0 else f'FAILED (exit {done.returncode})'} ====", flush=True)
    return done.returncode == 0


def server_mode(revisions: list[str], out: Path, fixture_protocol: str | None) -> bool:
    config = '[gateway]\nprefix = false\nsurface = "direct"\n\n' + harness.server_table("fixture", command=sys.executable, args=[str(FIXTURE)])
    if fixture_protocol:
        config += f'protocol = "{fixture_protocol}"\n'
        out = out / f"fixture-{fixture_protocol}"
    gw = harness.start_gateway(config, Path(tempfile.mkdtemp(prefix="portcullis-conformance-server-")))
    ok = True
    try:
        for rev in revisions:
            expected = EXPECTED / f"expected-failures-{rev}.yml"
            ok &= run_suite(["server", "--url", gw.url, "--requirements", rev, "--expected-failures", str(expected)], out / f"server-{rev}", f"server mode, {rev}")
    finally:
        gw.stop()
    return ok


def client_mode(revisions: list[str], out: Path) -> bool:
    ok = True
    command = f"{sys.executable} {DRIVER}"
    for rev in revisions:
        expected = EXPECTED / f"expected-failures-{rev}.yml"
        ok &= run_suite(["client", "--command", command, "--requirements", rev, "--expected-failures", str(expected)], out / f"client-{rev}", f"client mode, {rev}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=harness.REPO_ROOT / "target" / "conformance")
    parser.add_argument("--only", choices=["server", "client"])
    parser.add_argument("--requirements", choices=REVISIONS, action="append")
    parser.add_argument(
        "--fixture-protocol",
        choices=["auto", "2025-11-25", "2026-07-28"],
        help="the era the gateway speaks to the fixture (default auto: it discovers as 2026-07-28); "
        "2025-11-25 exercises the translation for stateless clients (expected failures differ: see CONFORMANCE.md)",
    )
    args = parser.parse_args()
    if not harness.gateway_bin().is_file():
        print(f"conformance: no gateway binary at {harness.gateway_bin()}: build it first (cargo build -p portcullis)", file=sys.stderr)
        return 1
    revisions = args.requirements or REVISIONS
    ok = True
    if args.only in (None, "server"):
        ok &= server_mode(revisions, args.out, args.fixture_protocol)
    if args.only in (None, "client"):
        ok &= client_mode(revisions, args.out)
    print(f"\nconformance: {'every failure was expected' if ok else 'unexpected failures or stale expectations (see above)'}; results in {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
