"""Audit throughput: cases/s and peak memory for 1 and 2 local workers and a LocalCluster.

Writes a synthetic multi-site tree (``fixtures/synth/audit_tree.py``: copies of the shipped
plans with three structure-naming conventions, per-site alias files, small dose and
contour variations) into a temporary folder, then audits it, in one run, with

1. ``--workers 1`` (in-process, one case after another),
2. ``--workers 2`` (a local process pool),
3. a ``dask.distributed.LocalCluster`` of 2 worker processes (1 thread each) through
   ``--scheduler`` (cluster start-up reported apart),

each configuration in a fresh Python process so timings and memory do not mix. Peak RSS
is sampled (psutil, every 0.1 s) over the audit process and all its descendants: the
largest single process and the largest total. Target (issue #9): ≥ 1.8× throughput from
1 to 2 workers on a 2-core machine. Every configuration must give the same results.

    python benchmarks/bench_audit.py [--cases 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class PeakRss:
    """Samples the RSS of this process and its descendants until stopped."""

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self.process_mb = 0.0
        self.total_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

        rss = []
        for p in [self._me, *self._me.children(recursive=True)]:
            try:
                rss.append(p.memory_info().rss / 2**20)
            except psutil.Error:
                continue
        self.process_mb = max(self.process_mb, *rss)
        self.total_mb = max(self.total_mb, sum(rss))

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def __enter__(self) -> PeakRss:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def one(mode: str, tree: Path, aliases: Path, out: Path) -> dict[str, float]:
    """Run one configuration in this process; its numbers as a dict."""
    sys.path.insert(0, str(ROOT))
    from rtcheck.audit.run import AuditRun, run_audit
    from rtcheck.audit.task import AuditConfig
    from rtcheck.rules.protocol import load_protocol

    p = load_protocol("medcare")
    config = AuditConfig(p.path, p.sha256, p.libraries, site_aliases_dir=str(aliases))
    started = time.perf_counter()
    with PeakRss() as rss:
        if mode == "cluster":
            from distributed import LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              host="127.0.0.1", dashboard_address=None) as cluster:
                up = time.perf_counter() - started
                started = time.perf_counter()
                outcome = run_audit(tree, out, config, AuditRun(
                    scheduler=cluster.scheduler_address), stream=StringIO())
                elapsed = time.perf_counter() - started
        else:
            up = 0.0
            outcome = run_audit(tree, out, config, AuditRun(workers=int(mode)),
                                stream=StringIO())
            elapsed = time.perf_counter() - started
    return {"cases": outcome.cases, "seconds": elapsed, "startup_s": up,
            "process_mb": rss.process_mb, "total_mb": rss.total_mb,
            **{k.lower(): v for k, v in outcome.counts.items()}}


def _results(out: Path) -> dict[str, object]:
    found = {}
    for path in sorted((out / "results").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["audit"].pop("duration_s")
        if doc["report"]:
            doc["report"]["provenance"].pop("created_utc")
        found[path.name] = doc
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", nargs=4, metavar=("MODE", "TREE", "ALIASES", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        mode, tree, aliases, out = args.one
        print(json.dumps(one(mode, Path(tree), Path(aliases), Path(out))))
        return
    sys.path.insert(0, str(ROOT))
    from fixtures.synth.audit_tree import write_audit_tree

    with tempfile.TemporaryDirectory(prefix="rtcheck-bench-audit-") as tmp:
        base = Path(tmp)
        started = time.perf_counter()
        manifest = write_audit_tree(base / "tree", args.cases, seed=args.seed,
                                    aliases_dir=base / "aliases")
        print(f"tree: {len(manifest.cases)} cases, 3 sites, written in "
              f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} cores")
        rows = {}
        for mode, label in (("1", "1 worker"), ("2", "2 workers"),
                            ("cluster", "LocalCluster 2x1")):
            out = base / f"out-{mode}"
            proc = subprocess.run(
                [sys.executable, __file__, "--one", mode, str(base / "tree"),
                 str(base / "aliases"), str(out)], capture_output=True, text=True, cwd=ROOT)
            if proc.returncode:
                sys.exit(f"{label} failed: {proc.stderr[-2000:]}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            rows[mode] = r
            extra = f", cluster start {r['startup_s']:.1f} s" if r["startup_s"] else ""
            print(f"{label:<17} {r['seconds']:7.1f} s  {r['cases'] / r['seconds']:6.2f} "
                  f"cases/s  peak RSS {r['process_mb']:5.0f} MB/process, "
                  f"{r['total_mb']:5.0f} MB total{extra}  "
                  f"[{r['pass']} PASS {r['fail']} FAIL {r['incomplete']} INCOMPLETE "
                  f"{r['error']} ERROR]")
        same = _results(base / "out-1") == _results(base / "out-2") == _results(
            base / "out-cluster")
        speedup = rows["1"]["seconds"] / rows["2"]["seconds"]
        print(f"speed-up 1 -> 2 workers: {speedup:.2f}x (target >= 1.8x on 2 cores: "
              f"{'met' if speedup >= 1.8 else 'NOT met'}); LocalCluster vs 1 worker: "
              f"{rows['1']['seconds'] / rows['cluster']['seconds']:.2f}x; identical results: "
              f"{'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
