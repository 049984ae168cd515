"""`portcullis search-eval` on the shared labeled tool sets: the figures it prints parse,
count every tool and query of the set, and are at least the plain BM25 reference that
shared/search-eval/README.md gives for the set."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import harness

pytestmark = pytest.mark.gateway

EVAL_ROOT = harness.REPO_ROOT.parent / "shared" / "search-eval"
METRICS = ("P@1", "R@5", "Hit@5", "nDCG@10")
FIGURES_RE = re.compile(r"(P@1|R@5|Hit@5|nDCG@10)\s+([0-9]*\.[0-9]+)")
COUNTS_RE = re.compile(r"(\d+) tools, (\d+) queries")


def reference(set_name: str) -> dict[str, float]:
    """The BM25 row for `set_name` in the README's reference table."""
    readme = (EVAL_ROOT / "README.md").read_text()
    header: list[str] | None = None
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[:1] == ["set"] and all(m in cells for m in METRICS):
            header = cells
        elif header and cells[:1] == [set_name] and len(cells) == len(header):
            return {m: float(cells[header.index(m)]) for m in METRICS}
    raise AssertionError(f"no BM25 reference row for {set_name!r} in {EVAL_ROOT / 'README.md'}")


def skip_unless_present(set_dir: Path) -> None:
    needed = [EVAL_ROOT / "README.md", set_dir / "tools.jsonl", set_dir / "queries.jsonl"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        reason = f"the shared evaluation set is not here: missing {', '.join(missing)}"
        print(f"skipping: {reason}", file=sys.stderr)
        pytest.skip(reason)


def lines_in(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


@pytest.mark.parametrize("set_name", ["toollens", "metatool"])
def test_search_eval_beats_the_bm25_reference(set_name: str) -> None:
    set_dir = EVAL_ROOT / set_name
    skip_unless_present(set_dir)
    done = subprocess.run(
        [str(harness.gateway_bin()), "search-eval", str(set_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"search-eval exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    out = done.stdout
    print(out)

    figures = {name: float(value) for name, value in FIGURES_RE.findall(out)}
    assert set(figures) == set(METRICS), f"expected {METRICS} in the output:\n{out}"
    for name, value in figures.items():
        assert 0.0 <= value <= 1.0, f"{name} {value} is not a share:\n{out}"

    counts = COUNTS_RE.search(out)
    assert counts, f"no '<n> tools, <n> queries' line:\n{out}"
    assert int(counts.group(1)) == lines_in(set_dir / "tools.jsonl"), out
    assert int(counts.group(2)) == lines_in(set_dir / "queries.jsonl"), out

    floor = reference(set_name)
    below = {m: (figures[m], floor[m]) for m in METRICS if figures[m] < floor[m]}
    assert not below, f"{set_name}: below the BM25 reference (ours, reference): {below}\n{out}"
