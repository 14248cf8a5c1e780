#!/usr/bin/env python
"""Whole-process timing of the plan check, beside the import floor.

Usage (from the repository root, venv active)::

    python benchmarks/bench_check.py [--repeat 5]

Measures, in one run and on this machine:

* the import floor: ``python -c "import numpy, pydicom"`` (the least any rtcheck
  command can cost);
* ``rtcheck fixtures/spine_sbrt`` (synthetic spine SBRT, 5 ROIs, 107x75x23 grid);
* ``rtcheck ../shared/refdata/eclipse-breast-boost --site other --rx 42.56Gy/16fx``
  (the real Eclipse breast export, 10 ROIs, 194x129x98 grid; checked against MEDCARE's
  SBRT arm, so its verdict is not a pass — only its time matters here);

each as the median and the best of ``--repeat`` runs of the whole process (start-up,
imports, loading, DVHs, checks, text report), and prints each against the floor.
A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFDATA = Path(os.environ.get("RTCHECK_REFDATA", ROOT.parent / "shared" / "refdata"))


def _time(cmd: list[str], repeat: int) -> tuple[float, float, int]:
    runs, code = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        runs.append(time.perf_counter() - t0)
        code = proc.returncode
        if code not in (0, 1):
            sys.exit(f"{' '.join(cmd)} failed with exit {code}:\n{proc.stderr}")
    return statistics.median(runs), min(runs), code


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    py = sys.executable
    rtcheck = [py, "-m", "rtcheck"]
    cases = [("import floor: import numpy, pydicom", [py, "-c", "import numpy, pydicom"])]
    cases.append(("rtcheck fixtures/spine_sbrt", [*rtcheck, "fixtures/spine_sbrt"]))
    breast = REFDATA / "eclipse-breast-boost"
    if breast.is_dir():
        cases.append(("rtcheck eclipse-breast-boost", [*rtcheck, str(breast), "--site", "other",
                                                       "--rx", "42.56Gy/16fx"]))
    else:
        print(f"(skipped the breast export: {breast} not found)")
    floor = None
    print(f"{'command':40s} {'median s':>9s} {'best s':>8s} {'x floor':>8s} {'exit':>5s}")
    for label, cmd in cases:
        med, best, code = _time(cmd, args.repeat)
        floor = floor or med
        print(f"{label:40s} {med:9.3f} {best:8.3f} {med / floor:8.2f} {code:5d}")


if __name__ == "__main__":
    main()
