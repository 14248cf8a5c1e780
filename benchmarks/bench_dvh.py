"""Benchmark: rtcheck's DVH engine against dicompyler-core ``dvhcalc.get_dvh``.

For every case (the shared real Eclipse breast-boost export and each fixture
folder holding an RTSTRUCT and a single RTDOSE) all structures are computed:

* **rtcheck**: :func:`rtcheck.dose.engine.compute_dvhs` on the loaded model
  (default :class:`~rtcheck.dose.settings.DvhSettings`), best of ``--repeat`` runs;
  the end-to-end time (``rtcheck.dicom.load`` + DVHs) is shown as well.
* **dicompyler default**: ``get_dvh(rtss, rtdose, roi)`` for each ROI, on datasets
  read once by pydicom (the per-ROI parse inside ``get_dvh`` is part of its cost).
* **dicompyler interpolated**: its best settings without extra dependencies,
  ``use_structure_extents=True, interpolation_segments_between_planes=2``, plus
  in-plane ``interpolation_resolution`` of a quarter dose voxel when scikit-image
  is installed.

It prints, per case, the time ratios and, per structure, rtcheck's volume and
dose metrics with dicompyler's differences. Run from the repository root::

    python benchmarks/bench_dvh.py [--repeat 3] [--no-interp] [CASE_DIR ...]

dicompyler-core 0.5.6 calls ``pydicom.dicomio.read_file``, which pydicom 3
removed; the shim ``pydicom.dicomio.read_file = pydicom.dcmread`` is installed
here, in the benchmark only (no other shim is needed with pydicom 3.0).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pydicom.dicomio
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rtcheck.dicom import load  # noqa: E402
from rtcheck.dicom.model import DoseGrid, EmbeddedDVH  # noqa: E402
from rtcheck.dose.engine import StructureDVH, compute_dvh, compute_dvhs  # noqa: E402
from tests.analytic_shapes import ContourStack, make_grid  # noqa: E402
from tests.test_dvh_analytical import SHAPES, Z_REF, dose_model  # noqa: E402

pydicom.dicomio.read_file = pydicom.dcmread  # type: ignore[attr-defined]
from dicompylercore import dvhcalc  # noqa: E402

REFDATA = Path(os.environ.get("RTCHECK_REFDATA", REPO.parent / "shared" / "refdata"))
METRICS = ("V", "Dmin", "Dmax", "Dmean", "D99", "D95", "D5", "D1", "D0.03cc")
SKIMAGE = importlib.util.find_spec("skimage") is not None


def default_cases() -> list[Path]:
    cases = [REFDATA / "eclipse-breast-boost"]
    fixtures = REPO / "fixtures"
    if fixtures.is_dir():
        cases += sorted(p for p in fixtures.iterdir() if p.is_dir() and any(p.glob("*.dcm")))
    return [c for c in cases if c.is_dir()]


def rtcheck_metrics(d: StructureDVH) -> dict[str, float]:
    if d.dvh is None:
        return {}
    c = d.dvh
    out = {"V": d.volume_cc, "Dmin": c.min_gy, "Dmax": c.max_gy, "Dmean": c.mean_gy}
    for p in (99, 95, 5, 1):
        out[f"D{p}"] = c.dose_at_percent_gy(p)
    if c.total_volume_cc >= 0.03:
        out["D0.03cc"] = c.dose_at_volume_gy(0.03)
    return out


def dicompyler_metrics(h: Any) -> dict[str, float]:
    if h is None or not h.volume:
        return {}
    out = {"V": float(h.volume), "Dmin": float(h.min), "Dmax": float(h.max), "Dmean": float(h.mean)}
    for p in (99, 95, 5, 1):
        out[f"D{p}"] = float(h.dose_constraint(p).value)
    if h.volume >= 0.03:
        out["D0.03cc"] = float(h.dose_constraint(0.03, "cc").value)
    return out


def embedded_metrics(e: EmbeddedDVH) -> dict[str, float]:
    """Metrics of a TPS DVH stored in the RTDOSE (cumulative, bin edges in Gy)."""
    edges, vol = e.dose_edges_gy, e.volume_cc
    total = float(vol[0])
    if total <= 0:
        return {}
    width = float(edges[1] - edges[0]) if edges.size > 1 else 0.0
    positive = np.flatnonzero(vol > 1e-9 * total)
    below = np.flatnonzero(vol < total * (1 - 1e-9))
    diff = -np.diff(np.append(vol, 0.0))
    out = {"V": total, "Dmax": float(edges[positive[-1]] + width),
           "Dmin": float(edges[below[0]]) if below.size else 0.0,
           "Dmean": float(np.dot(diff, edges + width / 2) / total)}
    for p in (99, 95, 5, 1):
        out[f"D{p}"] = float(np.interp(total * p / 100, vol[::-1], edges[::-1]))
    if total >= 0.03:
        out["D0.03cc"] = float(np.interp(0.03, vol[::-1], edges[::-1]))
    return out


@contextlib.contextmanager
def _quiet_dicompyler() -> Iterator[None]:
    """dicompyler-core warns (Python warnings) and logs a WARNING per contour plane it finds
    no dose plane for ("Dose plane not found for 27.5...", ~100 lines per run): neither is
    a benchmark result, so both are silenced here, in the benchmark only."""
    logger = logging.getLogger("dicompylercore")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def run_dicompyler(rtss: Any, rtdose: Any, rois: list[int], **options: Any
                   ) -> tuple[float, dict[int, dict[str, float]], str]:
    results: dict[int, dict[str, float]] = {}
    start = time.perf_counter()
    note = ""
    for roi in rois:
        try:
            with _quiet_dicompyler():
                results[roi] = dicompyler_metrics(dvhcalc.get_dvh(rtss, rtdose, roi, **options))
        except Exception as exc:  # dicompyler's own failure is a result to report
            results[roi] = {}
            note = f"failed on ROI {roi}: {type(exc).__name__}: {exc}"
    return time.perf_counter() - start, results, note


def fmt(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.4g}"


def bench_case(folder: Path, repeat: int, interp: bool) -> dict[str, float]:
    t0 = time.perf_counter()
    loaded = load([folder])
    cases = [c for c in loaded.cases if c.dose is not None and c.structure_set is not None]
    if not cases:
        print(f"\n== {folder.name}: no structure set + dose pair, skipped")
        return {}
    case = cases[0]
    dose, ss = case.dose, case.structure_set
    assert dose is not None and ss is not None
    dvhs = compute_dvhs(ss, dose)
    t_e2e = time.perf_counter() - t0
    t_rt = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        dvhs = compute_dvhs(ss, dose)
        t_rt = min(t_rt, time.perf_counter() - t)
    print(f"\n== {folder.name}: {len(ss.structures)} structures, dose grid {dose.shape} "
          f"spacing {tuple(round(s, 3) for s in dose.spacing_mm)} mm")
    print(f"rtcheck: {t_rt:.3f} s for all structures (best of {repeat}); "
          f"load + DVHs {t_e2e:.3f} s")
    timings = {"rtcheck": t_rt, "rtcheck_e2e": t_e2e}
    if len(dose.source_paths) != 1:
        print("dicompyler-core: skipped (the dose is a sum of several RTDOSE files)")
        return timings
    rtss = pydicom.dcmread(ss.source_path)
    rtdose = pydicom.dcmread(dose.source_paths[0])
    rois = [s.roi_number for s in ss.structures]
    t_dc, dc, note = run_dicompyler(rtss, rtdose, rois)
    print(f"dicompyler default: {t_dc:.3f} s -> rtcheck is {t_dc / t_rt:.1f}x faster "
          f"({t_dc / t_e2e:.1f}x including rtcheck's DICOM loading) {note}")
    timings["dicompyler"] = t_dc
    dci: dict[int, dict[str, float]] = {}
    if interp:
        options: dict[str, Any] = {"use_structure_extents": True,
                                   "interpolation_segments_between_planes": 2}
        label = "extents + 2 segments between planes"
        if SKIMAGE:
            options["interpolation_resolution"] = dose.spacing_mm[0] / 4
            label += " + in-plane 1/4 voxel"
        t_dci, dci, note = run_dicompyler(rtss, rtdose, rois, **options)
        print(f"dicompyler interpolated ({label}): {t_dci:.3f} s -> rtcheck is "
              f"{t_dci / t_rt:.1f}x faster {note}")
        timings["dicompyler_interp"] = t_dci
    tps = {e.roi_number: embedded_metrics(e) for e in dose.embedded_dvhs}
    print("per structure: rtcheck value [dicompyler default - rtcheck | interpolated - rtcheck"
          + (" | TPS DVH in the RTDOSE - rtcheck" if tps else "") + "] (cc, Gy)")
    for d in dvhs:
        rt = rtcheck_metrics(d)
        codes = ",".join(f.code for f in d.findings)
        print(f"  {d.name[:18]:18s} {codes}")
        if not rt:
            continue
        others = [dc.get(d.roi_number, {}), dci.get(d.roi_number, {})]
        if tps:
            others.append(tps.get(d.roi_number, {}))
        cells = []
        for m in METRICS:
            if m in rt:
                deltas = "|".join(fmt(o[m] - rt[m]) if m in o else "-" for o in others)
                cells.append(f"{m} {fmt(rt[m])} [{deltas}]")
        print("    " + "  ".join(cells[:5]))
        print("    " + "  ".join(cells[5:]))
    return timings


def _new_dataset(sop_class: str, modality: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.Modality = modality
    return ds


def _dicom_pair(stack: ContourStack, grid: DoseGrid) -> tuple[Dataset, Dataset]:
    """Minimal in-memory RTSTRUCT (one ROI) and RTDOSE (uint32) for dicompyler-core."""
    ss = _new_dataset("1.2.840.10008.5.1.4.1.1.481.3", "RTSTRUCT")
    roi = Dataset()
    roi.ROINumber, roi.ROIName = 1, "shape"
    ss.StructureSetROISequence = DicomSequence([roi])
    contours = []
    for z, sec in stack.planes:
        c = Dataset()
        c.ContourGeometricType = "CLOSED_PLANAR"
        pts = sec.polygon()
        c.NumberOfContourPoints = len(pts)
        c.ContourData = [float(v) for xy in pts for v in (xy[0], xy[1], z)]
        contours.append(c)
    rc = Dataset()
    rc.ReferencedROINumber, rc.ROIDisplayColor = 1, [255, 0, 0]
    rc.ContourSequence = DicomSequence(contours)
    ss.ROIContourSequence = DicomSequence([rc])
    obs = Dataset()
    obs.ReferencedROINumber, obs.RTROIInterpretedType = 1, "ORGAN"
    ss.RTROIObservationsSequence = DicomSequence([obs])
    rd = _new_dataset("1.2.840.10008.5.1.4.1.1.481.2", "RTDOSE")
    nz, ny, nx = grid.shape
    scale = 1e-6
    rd.ImagePositionPatient = [float(grid.x_mm[0]), float(grid.y_mm[0]), float(grid.z_mm[0])]
    rd.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    rd.PixelSpacing = [float(grid.y_mm[1] - grid.y_mm[0]), float(grid.x_mm[1] - grid.x_mm[0])]
    rd.GridFrameOffsetVector = [float(z - grid.z_mm[0]) for z in grid.z_mm]
    rd.Rows, rd.Columns, rd.NumberOfFrames = ny, nx, nz
    rd.SamplesPerPixel, rd.PhotometricInterpretation = 1, "MONOCHROME2"
    rd.BitsAllocated, rd.BitsStored, rd.HighBit, rd.PixelRepresentation = 32, 32, 31, 0
    rd.DoseUnits, rd.DoseType, rd.DoseSummationType = "GY", "PHYSICAL", "PLAN"
    rd.DoseGridScaling = scale
    rd.PixelData = np.round(grid.dose_gy / scale).astype("<u4").tobytes()
    return ss, rd


ANALYTIC = [("sphere_0.52cc", 2.0, "lin_z", 2.5), ("sphere_0.52cc", 3.0, "gauss", 3.0),
            ("cylz_0.40cc", 2.0, "lin_y", 2.5), ("conez_0.45cc", 1.0, "lin_z", 2.0),
            ("coney_0.45cc", 3.0, "lin_y", 3.0), ("sphere_14cc", 3.0, "lin_y", 2.5),
            ("cyly_13.6cc", 2.0, "lin_z", 3.0), ("conez_12cc", 3.0, "gauss", 2.5)]


def bench_analytic() -> None:
    """rtcheck and dicompyler against closed-form truth (tests/analytic_shapes.py)."""
    print("\n== analytical shapes (truth: contour-defined object with half-slice end caps)")
    print("   |relative error| % of rtcheck / dicompyler default / dicompyler interpolated")
    worst: dict[str, list[float]] = {m: [0.0, 0.0, 0.0] for m in METRICS}
    for name, spacing, kind, grid_mm in ANALYTIC:
        stack = ContourStack(SHAPES[name], spacing, Z_REF)
        dose = dose_model(kind, stack)
        grid = make_grid(dose, stack.extent(), grid_mm)
        t = stack.truth(dose)
        truth = {"V": t["volume"], "Dmin": t["Dmin"], "Dmax": t["Dmax"], "Dmean": t["Dmean"],
                 "D99": t["D99%"], "D95": t["D95%"], "D5": t["D5%"], "D1": t["D1%"],
                 "D0.03cc": t["D0.03cc"]}
        rt = rtcheck_metrics(compute_dvh(stack.structure(), grid))
        ss, rd = _dicom_pair(stack, grid)
        _, dc, _ = run_dicompyler(ss, rd, [1])
        _, dci, _ = run_dicompyler(ss, rd, [1], use_structure_extents=True,
                                   interpolation_segments_between_planes=2)
        cells = []
        for m in METRICS:
            errs = [abs(r[m] - truth[m]) / abs(truth[m]) * 100 if m in r else math.inf
                    for r in (rt, dc[1], dci[1])]
            worst[m] = [max(a, b) for a, b in zip(worst[m], errs, strict=True)]
            cells.append(f"{m} " + "/".join(f"{e:.2g}" for e in errs))
        print(f"  {name} s={spacing:g} {kind} grid {grid_mm:g} mm:")
        print("    " + "  ".join(cells))
    print("  worst: " + "  ".join(f"{m} " + "/".join(f"{e:.2g}" for e in w)
                                  for m, w in worst.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", type=Path, help="case folders (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="rtcheck repetitions (best of)")
    parser.add_argument("--no-interp", action="store_true", help="skip dicompyler interpolated")
    args = parser.parse_args(argv)
    folders = args.cases or default_cases()
    if not folders:
        print("no case folders found")
        return 1
    if not args.cases:
        bench_analytic()
    totals: dict[str, float] = {}
    for folder in folders:
        for key, value in bench_case(folder, args.repeat, not args.no_interp).items():
            totals[key] = totals.get(key, 0.0) + value
    if "dicompyler" in totals:
        print(f"\nTOTAL rtcheck {totals['rtcheck']:.3f} s, dicompyler default "
              f"{totals['dicompyler']:.3f} s: {totals['dicompyler'] / totals['rtcheck']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
