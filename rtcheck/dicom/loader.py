"""Public entry points: :func:`load` (everything) and :func:`read_treatment_records`."""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC

from rtcheck.dicom.link import LinkInput, link
from rtcheck.dicom.model import ImageSeries, LoadResult, TreatmentRecord
from rtcheck.dicom.read_dose import read_dose
from rtcheck.dicom.read_plan import read_plan
from rtcheck.dicom.read_record import read_record
from rtcheck.dicom.read_struct import read_structure_set
from rtcheck.dicom.scan import ScannedFile, scan
from rtcheck.dicom.sop import Kind
from rtcheck.dicom.values import decimals
from rtcheck.errors import DicomInputError, UsageError
from rtcheck.findings import Finding, Severity

PathLike = str | os.PathLike[str]


def _digest(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _deduplicate(files: list[ScannedFile]) -> tuple[list[ScannedFile], list[Finding]]:
    """Keep one file per SOPInstanceUID; identical copies are fine, different content is not."""
    by_uid: dict[str, list[ScannedFile]] = defaultdict(list)
    for f in files:
        by_uid[f.sop_instance_uid].append(f)
    kept: list[ScannedFile] = []
    findings: list[Finding] = []
    for uid, group in by_uid.items():
        kept.append(group[0])
        if len(group) == 1:
            continue
        same = len({_digest(f.path) for f in group}) == 1
        others = ", ".join(f.path for f in group[1:])
        findings.append(
            Finding(
                "DUPLICATE_SOP_INSTANCE" if not same else "DUPLICATE_FILE",
                Severity.ERROR if not same else Severity.INFO,
                (
                    f"SOPInstanceUID {uid} appears in files with DIFFERENT content ({others}); "
                    "only the first is used — remove the stale copy"
                    if not same
                    else f"identical copies ignored: {others}"
                ),
                path=group[0].path,
            )
        )
    return kept, findings


def _images(files: list[ScannedFile]) -> list[ImageSeries]:
    series: dict[str, list[ScannedFile]] = defaultdict(list)
    for f in files:
        series[str(f.dataset.get("SeriesInstanceUID", "") or "")].append(f)
    out = []
    for uid, group in sorted(series.items()):
        z = [
            position[2]
            for f in group
            if (position := decimals(f.dataset, "ImagePositionPatient", f.path, count=3) or None)
        ]
        out.append(
            ImageSeries(
                series_instance_uid=uid,
                frame_of_reference_uid=str(group[0].dataset.get("FrameOfReferenceUID", "") or ""),
                n_images=len(group),
                z_min_mm=min(z) if z else float("nan"),
                z_max_mm=max(z) if z else float("nan"),
            )
        )
    return out


def _read_objects(files: list[ScannedFile]) -> LinkInput:
    data = LinkInput()
    for f in files:
        data.patient_ids[f.sop_instance_uid] = str(f.dataset.get("PatientID", "") or "").strip()
        findings: list[Finding] = []
        if f.kind in (Kind.RTPLAN, Kind.RTIONPLAN):
            plan, findings = read_plan(f.dataset, f.path, f.kind)
            data.plans.append(plan)
        elif f.kind is Kind.RTDOSE:
            dose, findings = read_dose(f.dataset, f.path)
            data.doses.append(dose)
        elif f.kind is Kind.RTSTRUCT:
            ss, findings = read_structure_set(f.dataset, f.path)
            data.structure_sets.append(ss)
        elif f.kind in (Kind.RTRECORD, Kind.RTIONRECORD):
            record, findings = read_record(f.dataset, f.path, f.kind)
            data.records.append(record)
        data.object_findings.setdefault(f.sop_instance_uid, []).extend([*f.findings, *findings])
    data.images.extend(_images([f for f in files if f.kind is Kind.CT]))
    return data


def _select(result: LoadResult, plan_selector: str) -> LoadResult:
    chosen = tuple(
        c
        for c in result.cases
        if c.plan is not None and plan_selector in (c.plan.sop_instance_uid, c.plan.label)
    )
    if not chosen:
        available = (
            ", ".join(
                f"{c.plan.label} ({c.plan.sop_instance_uid})"
                for c in result.cases
                if c.plan is not None
            )
            or "none"
        )
        raise UsageError(f"--plan {plan_selector!r} matches no plan; available plans: {available}")
    if len(chosen) > 1:
        matches = "; ".join(
            f"{c.folder or '?'} ({c.plan.sop_instance_uid})" for c in chosen if c.plan is not None
        )
        raise UsageError(
            f"--plan {plan_selector!r} matches {len(chosen)} plans: {matches}; select one by its "
            "SOPInstanceUID or give only its folder"
        )
    return LoadResult(chosen, result.findings, result.ignored_files)


def load(paths: Sequence[PathLike], plan_selector: str | None = None) -> LoadResult:
    """Load DICOM-RT objects from files and folders and link them into cases.

    Parameters
    ----------
    paths
        Files and/or folders (searched recursively). DICOM is detected by content.
    plan_selector
        Keep only the case whose plan has this SOPInstanceUID or RTPlanLabel; it must
        match exactly one plan.

    Raises
    ------
    DicomInputError
        A file that is DICOM but cannot be used (truncated, corrupt, RELATIVE dose,
        oblique dose grid...). The message names the file and what to do.
    UsageError
        ``plan_selector`` matches no plan, or several.
    """
    files, findings, ignored = scan(paths)
    files, duplicate_findings = _deduplicate(files)
    findings.extend(duplicate_findings)
    cases, link_findings = link(_read_objects(files))
    findings.extend(link_findings)
    if not files:
        raise DicomInputError(
            "no DICOM-RT files (RTPLAN, RTDOSE, RTSTRUCT, records, CT) found; check the path",
            path=", ".join(str(p) for p in paths),
        )
    result = LoadResult(tuple(cases), tuple(findings), tuple(ignored))
    return _select(result, plan_selector) if plan_selector else result


def read_treatment_records(paths: Sequence[PathLike]) -> tuple[TreatmentRecord, ...]:
    """Read only the RT (Ion) Beams Treatment Records under ``paths``, sorted by delivery time.

    Other DICOM objects are ignored (their pixel data is never read).
    """
    files, _, _ = scan(paths)
    files, _ = _deduplicate(files)
    records = [
        read_record(f.dataset, f.path, f.kind)[0]
        for f in files
        if f.kind in (Kind.RTRECORD, Kind.RTIONRECORD)
    ]
    return tuple(sorted(records, key=_record_order))


def _record_order(record: TreatmentRecord) -> tuple[bool, float, int]:
    """Sort key: dated records first, by instant (naive times taken as UTC for ordering only)."""
    when = record.delivery_datetime
    if when is None:
        return (True, 0.0, record.fraction_number or 0)
    instant = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return (False, instant.timestamp(), record.fraction_number or 0)
