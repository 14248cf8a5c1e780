"""Find DICOM files under the given paths and read their headers, tolerantly.

DICOM is detected by content (the ``DICM`` marker at byte 128, or a bare dataset
that starts with a group 0x0008 element, as written without File Meta
Information), not by extension. Non-DICOM files are skipped with a debug log.
Inputs are opened read-only; nothing is ever written next to them.
"""

from __future__ import annotations

import logging
import os
import struct
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from rtcheck.dicom.sop import Kind, classify
from rtcheck.errors import DicomInputError
from rtcheck.findings import Finding, Severity

log = logging.getLogger(__name__)

_UNDEFINED_LENGTH = 0xFFFFFFFF


@dataclass(frozen=True)
class ScannedFile:
    """A DICOM file found on disk, with its header (pixel data not read)."""

    path: str
    kind: Kind
    dataset: Dataset
    sop_instance_uid: str
    has_meta: bool
    findings: tuple[Finding, ...] = ()


def iter_files(paths: Sequence[str | os.PathLike[str]]) -> Iterable[Path]:
    """Yield every file under ``paths`` (folders recursively), sorted, without duplicates."""
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise DicomInputError("no such file or folder; check the path", path=path)
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield candidate


def sniff(path: Path) -> str | None:
    """Return ``"meta"``, ``"bare"`` or ``None`` (not DICOM) from the first bytes."""
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError as exc:
        raise DicomInputError(
            f"cannot be read ({exc.strerror}); check permissions", path=path
        ) from exc
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "meta"
    if len(head) >= 8:
        group, element = struct.unpack("<HH", head[:4])
        if group in (0x0008, 0x0002) and element < 0x0100:
            return "bare"
    return None


def first_truncated_element(ds: Dataset, prefix: str = "") -> str | None:
    """Tag path of the first element whose stored value is shorter than its declared length.

    pydicom keeps reading when a file ends early; a value shorter than its length
    field (PS3.5 §7.1) is how a truncated file shows.
    """
    for tag, elem in ds._dict.items():
        if isinstance(elem, RawDataElement):
            if (
                elem.length != _UNDEFINED_LENGTH
                and elem.value is not None
                and len(elem.value) != elem.length
            ):
                return f"{prefix}{tag}"
        elif elem.VR == "SQ" and elem.value is not None:
            for i, item in enumerate(elem.value):
                found = first_truncated_element(item, f"{prefix}{tag}[{i}].")
                if found:
                    return found
    return None


def read_header(path: Path, how: str) -> tuple[Dataset, list[Finding]]:
    """Read a DICOM file without pixel data; raise DicomInputError if unusable."""
    findings: list[Finding] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=(how == "bare"))
    except (InvalidDicomError, EOFError, ValueError, struct.error, OSError) as exc:
        raise DicomInputError(
            f"not a readable DICOM file ({type(exc).__name__}: {exc}); re-export it from the TPS",
            path=path,
        ) from exc
    if how == "bare":
        findings.append(
            Finding(
                "NO_FILE_META",
                Severity.WARNING,
                "file has no DICOM File Meta Information header (PS3.10 §7.1); read with force, "
                "transfer syntax guessed. Re-export with a conformant writer if possible.",
                path=str(path),
            )
        )
    truncated = first_truncated_element(ds)
    if truncated:
        raise DicomInputError(
            f"file is truncated (element {truncated} is shorter than its declared length); "
            "copy or re-export the complete file",
            path=path,
        )
    return ds, findings


def scan(
    paths: Sequence[str | os.PathLike[str]],
) -> tuple[list[ScannedFile], list[Finding], list[str]]:
    """Find and classify DICOM files.

    Returns
    -------
    files
        The DICOM files rtcheck can use (plans, doses, structure sets, records, CT).
    findings
        Coded findings about the files (missing meta header, ignored SOP classes...).
    ignored
        Paths of files skipped (not DICOM, or a DICOM class rtcheck does not use).
    """
    files: list[ScannedFile] = []
    findings: list[Finding] = []
    ignored: list[str] = []
    for path in iter_files(paths):
        how = sniff(path)
        if how is None:
            log.debug("skipping %s: not DICOM", path)
            ignored.append(str(path))
            continue
        ds, file_findings = read_header(path, how)
        kind = classify(str(ds.get("SOPClassUID", "")), str(ds.get("Modality", "")))
        if kind is Kind.OTHER:
            log.info(
                "ignoring %s: SOP class %s is not used by rtcheck", path, ds.get("SOPClassUID", "?")
            )
            ignored.append(str(path))
            continue
        uid = str(ds.get("SOPInstanceUID", "")).strip()
        if not uid:
            raise DicomInputError(
                "SOPInstanceUID (0008,0018) is missing; the object cannot be linked. Re-export it.",
                path=path,
            )
        files.append(ScannedFile(str(path), kind, ds, uid, how == "meta", tuple(file_findings)))
    return files, findings, ignored
