"""Peak memory of a whole run: ``python -m helpers.run`` with the given arguments, with the
resident memory of the runner and its kernels summed and sampled every 0.2 s (Linux, /proc).

Every argument but ``--out FILE`` goes to ``python -m helpers.run``. Writes
``benchmarks/results/peak_memory_<preset>.json`` (or ``--out``). Usage::

    python benchmarks/peak_memory.py --preset smoke
    ENSEMBLE_DATA_DIR=... ENSEMBLE_WEIGHTS=random python benchmarks/peak_memory.py --preset cpu
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import stand_ins


PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> tuple[int, int]:
    """(summed, largest) resident bytes of ``root`` and all its descendants."""
    parents, rss = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        parents[int(entry.name)], rss[int(entry.name)] = int(fields[1]), pages * PAGE
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items()
                    if parent in frontier and pid not in tree]
        tree.update(children)
        frontier = children
    sizes = [rss.get(pid, 0) for pid in tree]
    return sum(sizes), max(sizes, default=0)


def main() -> None:
    args = sys.argv[1:] or ["--preset", "smoke"]
    if "-h" in args or "--help" in args:
        print(__doc__)
        return
    if not Path("/proc/self/statm").exists():
        sys.exit("This benchmark reads /proc and runs on Linux only.")
    preset = (args[args.index("--preset") + 1] if "--preset" in args
              else os.environ.get("ENSEMBLE_PRESET", "auto"))
    out = stand_ins.RESULTS / f"peak_memory_{preset}.json"
    if "--out" in args:
        where = args.index("--out")
        out = Path(args[where + 1])
        del args[where:where + 2]
    with tempfile.TemporaryDirectory() as artifacts:
        env = {**os.environ,
               "ENSEMBLE_ARTIFACTS_DIR": os.environ.get("ENSEMBLE_ARTIFACTS_DIR", artifacts)}
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "helpers.run", *args], env=env,
                                   stdout=subprocess.DEVNULL)
        peak_total = peak_single = 0
        while process.poll() is None:
            total, single = tree_rss(process.pid)
            peak_total, peak_single = max(peak_total, total), max(peak_single, single)
            time.sleep(0.2)
        seconds = time.perf_counter() - start
    if process.returncode:
        sys.exit(f"python -m helpers.run {' '.join(args)} failed with exit code "
                 f"{process.returncode}")
    print(f"python -m helpers.run {' '.join(args)}: {seconds:.0f} s")
    print(f"peak memory, runner and kernel together: {peak_total / 2**30:.2f} GiB")
    print(f"peak memory of the largest single process: {peak_single / 2**30:.2f} GiB")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"arguments": args, "seconds": seconds,
                               "peak_total_bytes": peak_total,
                               "peak_single_process_bytes": peak_single,
                               "data_dir": os.environ.get("ENSEMBLE_DATA_DIR"),
                               "machine": stand_ins.machine()}, indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
