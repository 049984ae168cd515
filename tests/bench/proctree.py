"""A process and everything below it, and their memory, read from /proc: shared by the
benchmarks that measure a tree of processes (the desktop app's, the gateway's with its
servers)."""

from __future__ import annotations

from pathlib import Path


def tree(pid: int) -> list[int]:
    """pid and every descendant."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory_kib(pids: list[int]) -> tuple[int, int, list[str]]:
    rss = pss = 0
    names = []
    for p in pids:
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            names.append(Path(f"/proc/{p}/comm").read_text().strip())
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in rollup.splitlines():
            key, _, value = line.partition(":")
            if key == "Rss":
                rss += int(value.split()[0])
            elif key == "Pss":
                pss += int(value.split()[0])
    return rss, pss, names
