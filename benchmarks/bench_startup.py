#!/usr/bin/env python
"""Start-up and whole-process timings of the rtcheck command line (issue #8 targets).

Usage (from the repository root, venv active)::

    python benchmarks/bench_startup.py [--repeat 7]

Measured in one run, each as the median of ``--repeat`` whole processes:

* the import floor ``python -c "import numpy, pydicom"``;
* ``rtcheck --help`` — target: within 0.15 s of the floor;
* ``rtcheck info`` on the shared Eclipse breast export — target: at most 2 × the floor
  plus its work (the work = loading in an already started process, measured here too);
* ``rtcheck dvh`` of every structure of that plan against dicompyler-core's ``get_dvh``
  over the same structures, each in its own whole process, the two interleaved — target:
  ≥ 10 × faster.

rtcheck runs as a user runs it: the installed ``rtcheck`` console script, with its
bytecode written (see :func:`compile_bytecode`).

A benchmark, not a test: it prints the numbers and whether each target is met.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFDATA = Path(os.environ.get("RTCHECK_REFDATA", ROOT.parent / "shared" / "refdata"))
BREAST = REFDATA / "eclipse-breast-boost"

DICOMPYLER = """
import warnings, logging
warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
import pydicom, pydicom.dicomio
pydicom.dicomio.read_file = pydicom.dcmread  # dicompyler-core 0.5.6 predates pydicom 3
from dicompylercore import dvhcalc
folder = {folder!r}
rtss = pydicom.dcmread(folder + "/rtss.dcm")
rtdose = pydicom.dcmread(folder + "/rtdose.dcm")
for roi in rtss.StructureSetROISequence:
    dvhcalc.get_dvh(rtss, rtdose, int(roi.ROINumber))
"""

LOAD_WORK = """
import time
from rtcheck.dicom.loader import load
t = time.perf_counter(); load([{folder!r}]); print(time.perf_counter() - t)
"""


DVH_WORK = """
import time
t0 = time.perf_counter()
import rtcheck.cli.dvh
from rtcheck.dicom.loader import load
from rtcheck.dose.engine import compute_dvhs
t1 = time.perf_counter(); case = load([{folder!r}]).cases[0]
t2 = time.perf_counter(); compute_dvhs(case.structure_set, case.dose)
t3 = time.perf_counter(); print(t1 - t0, t2 - t1, t3 - t2)
"""


def once(cmd: list[str]) -> float:
    """Wall-clock seconds of one whole process (exit 0 or 1 expected)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd} exited {proc.returncode}: {proc.stderr[-500:]}")
    return seconds


def whole(cmd: list[str], repeat: int) -> float:
    """Median wall-clock seconds of ``repeat`` whole processes."""
    return statistics.median(once(cmd) for _ in range(repeat))


def paired(a: list[str], b: list[str], repeat: int) -> tuple[float, float]:
    """Medians of ``repeat`` runs of ``a`` and of ``b``, interleaved (a, b, a, b...), so that
    both meet the same machine state (this 2-core machine's load moves by +-10 %)."""
    runs = [(once(a), once(b)) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def compile_bytecode() -> None:
    """Write rtcheck's bytecode caches first, as a first run (or ``pip install``) leaves them.

    With PYTHONDONTWRITEBYTECODE set and an editable install, every process would compile
    each rtcheck module again (+0.04 s for ``rtcheck dvh``), which no user installation
    does; third-party packages were compiled by pip at install time.
    """
    compileall.compile_dir(str(ROOT / "rtcheck"), quiet=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    n = ap.parse_args().repeat
    compile_bytecode()
    py = sys.executable
    # the console script pip installed, as a user runs it (``python -m rtcheck`` adds runpy)
    script = Path(py).with_name("rtcheck")
    rt = [str(script)] if script.is_file() else [py, "-m", "rtcheck"]
    floor = whole([py, "-c", "import numpy, pydicom"], n)
    helpt = whole([*rt, "--help"], n)
    print(f"import floor (import numpy, pydicom)   {floor:7.3f} s")
    ok = helpt - floor <= 0.15
    print(f"rtcheck --help                          {helpt:7.3f} s  "
          f"({helpt - floor:+.3f} s vs the floor; target <= +0.15 s: "
          f"{'met' if ok else 'NOT met'})")
    if not BREAST.is_dir():
        print(f"(breast export not found at {BREAST}: info/dvh timings skipped)")
        return
    work = statistics.median(
        float(subprocess.run([py, "-c", LOAD_WORK.format(folder=str(BREAST))], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout)
        for _ in range(n))
    info = whole([*rt, "info", str(BREAST)], n)
    ok = info <= 2 * floor + work
    print(f"rtcheck info breast                     {info:7.3f} s  (2 x floor + work "
          f"{2 * floor + work:.3f} s, work {work:.3f} s; target: {'met' if ok else 'NOT met'})")
    dvh, dicompyler = paired([*rt, "dvh", str(BREAST), "--no-indices"],
                             [py, "-c", DICOMPYLER.format(folder=str(BREAST))], n)
    ratio = dicompyler / dvh
    parts = [[float(v) for v in subprocess.run(
        [py, "-c", DVH_WORK.format(folder=str(BREAST))], cwd=ROOT, capture_output=True,
        text=True, check=True).stdout.split()] for _ in range(n)]
    imports, loading, dvhs = (statistics.median(p[i] for p in parts) for i in range(3))
    print(f"rtcheck dvh breast (all structures)     {dvh:7.3f} s  (in-process parts: "
          f"imports {imports:.3f} s, loading {loading:.3f} s, DVHs {dvhs:.3f} s)")
    print(f"dicompyler-core get_dvh (same ROIs)     {dicompyler:7.3f} s  "
          f"(rtcheck {ratio:.1f}x faster; target >= 10x: {'met' if ratio >= 10 else 'NOT met'})")


if __name__ == "__main__":
    main()
