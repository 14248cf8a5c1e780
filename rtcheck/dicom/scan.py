"""Find DICOM files under the given paths and read their headers, tolerantly.

DICOM is detected by content (the ``DICM`` marker at byte 128, or a bare dataset
that starts with a group 0x0008 element, as written without File Meta
Information), not by extension. Non-DICOM files are skipped with a debug log.
Inputs are opened read-only; nothing is ever written next to them.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filereader import _read_file_meta_info, data_element_generator
from pydicom.tag import Tag

from rtcheck.dicom.sop import Kind, classify
from rtcheck.errors import DicomInputError
from rtcheck.findings import Finding, Severity

log = logging.getLogger(__name__)

_UNDEFINED_LENGTH = 0xFFFFFFFF
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
#: Left undecoded by :func:`_decode_all`. ContourData (3006,0050) and DVHData (3004,0058)
#: are read from the raw bytes later (:mod:`rtcheck.dicom.values`). The sequences below are
#: never read by rtcheck and hold most items of a plan or structure set (the Eclipse breast
#: export: 1 160 of 1 600 plan items, 539 of 1 000 structure-set items):
#: BeamLimitingDevicePositionSequence (300A,011A) and ReferencedDoseReferenceSequence
#: (300C,0050) in every control point (PS3.3 C.8.8.14.5), WedgePositionSequence (300A,0116),
#: ContourImageSequence (3006,0016, PS3.3 C.8.8.6). Parsing them only to check them took
#: ~40 % of the loading time, for no number rtcheck computes (issue #8's start-up target).
_LEFT_RAW = frozenset({
    Tag(0x3006, 0x0050), Tag(0x3004, 0x0058),
    Tag(0x300A, 0x011A), Tag(0x300C, 0x0050), Tag(0x300A, 0x0116), Tag(0x3006, 0x0016),
})
#: Value Representations holding text (PS3.5 Table 6.2-1), decoded without failing
_TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI",
     "UR", "UT"}
)


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


@dataclass(frozen=True)
class ParsedExtent:
    """How far the top-level elements of a file reach, against the file size.

    ``complete_end`` is the byte offset where the last top-level element that lies
    wholly inside the file ends; ``cut_tag`` is the element the file ends inside (its
    header was read, its value declares more bytes than are left), with its value
    offset and declared length; ``size`` is the file size in bytes.
    """

    complete_end: int
    size: int
    cut_tag: str | None = None
    cut_value_at: int = 0
    cut_length: int = 0

    def problem(self) -> str | None:
        """A one-line description of the truncation, or ``None`` when the file is whole."""
        if self.cut_tag is not None:
            return (
                f"file is truncated: element {self.cut_tag} declares {self.cut_length} bytes "
                f"from byte {self.cut_value_at} but the file ends at byte {self.size}; the last "
                f"complete element ends at byte {self.complete_end}"
            )
        if self.complete_end != self.size:
            return (
                f"file is truncated or corrupt: its last complete element ends at byte "
                f"{self.complete_end} and the file ends at byte {self.size}, inside the header "
                "of the next element"
            )
        return None


def _tag_name(tag: int) -> str:
    name = keyword_for_tag(tag)
    return f"{Tag(tag)} {name}" if name else str(Tag(tag))


def parsed_end(path: Path, how: str, ds: Dataset) -> ParsedExtent | None:
    """Where the last complete top-level element of the file ends, and which one is cut.

    pydicom stops without a word when fewer than 8 bytes of an element header are
    left (a file cut inside a tag or length field), and keeps a cut value of an
    element it decodes at once (SpecificCharacterSet) or defers; walking the
    top-level elements again (PS3.5 §7.1) and comparing their declared lengths with
    the file size shows all of them. ``None`` for deflated files, which cannot be walked.
    """
    if ds.file_meta.get("TransferSyntaxUID") == pydicom.uid.DeflatedExplicitVRLittleEndian:
        return None
    implicit, little = ds.original_encoding
    if implicit is None or little is None:
        return None
    size = path.stat().st_size
    with path.open("rb") as fh:
        if how == "meta":
            fh.seek(132)
            _read_file_meta_info(fh)
        end = fh.tell()
        for elem in data_element_generator(fh, implicit, little, defer_size=256):
            if isinstance(elem, RawDataElement) and elem.length != _UNDEFINED_LENGTH:
                if elem.value_tell + elem.length > size:
                    return ParsedExtent(end, size, _tag_name(elem.tag), elem.value_tell,
                                        elem.length)
                end = elem.value_tell + elem.length
            else:
                end = fh.tell()
    return ParsedExtent(end, size)


def _vr(raw: RawDataElement) -> str | None:
    """The VR of a raw element: explicit in the file, or from the data dictionary."""
    if raw.VR:
        return str(raw.VR)
    try:
        return str(dictionary_VR(raw.tag))
    except KeyError:  # a private or unknown tag: decode it to be safe
        return None


def _decode_all(ds: Dataset, prefix: str = "") -> None:
    """Convert every element once (pydicom decodes lazily), so a corrupt element
    (unknown VR, a length that is not a multiple of the value size...) fails here,
    named, rather than later deep in a reader. Text VRs are left raw: pydicom
    decodes them leniently (an invalid number stays a string, which the checked
    readers of :mod:`rtcheck.dicom.values` refuse with the attribute's name), and
    decoding the MLC positions of a plan would double the load time."""
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        if tag in _LEFT_RAW or (isinstance(raw, RawDataElement) and _vr(raw) in _TEXT_VRS):
            continue
        try:
            elem = ds[tag]
        except Exception as exc:  # pydicom raises many types for a corrupt element
            raise DicomInputError(
                f"element {prefix}{tag} cannot be decoded ({type(exc).__name__}: {exc}); "
                "the file is corrupt, re-export it"
            ) from exc
        if elem.VR == "SQ" and elem.value is not None:
            for i, item in enumerate(elem.value):
                _decode_all(item, f"{prefix}{tag}[{i}].")


def read_header(path: Path, how: str) -> tuple[Dataset, list[Finding]]:
    """Read a DICOM file without pixel data; raise DicomInputError if unusable."""
    findings: list[Finding] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=(how == "bare"))
            end = parsed_end(path, how, ds)
            truncated = first_truncated_element(ds)  # before decoding: it reads raw lengths
            _decode_all(ds.file_meta)
            _decode_all(ds)
    except DicomInputError as exc:
        raise DicomInputError(str(exc), path=path) from exc
    except Exception as exc:  # a corrupt file makes pydicom raise almost anything
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
    if truncated:
        raise DicomInputError(
            f"file is truncated (element {truncated} is shorter than its declared length; "
            f"the file ends at byte {path.stat().st_size}); copy or re-export the complete file",
            path=path,
        )
    if len(ds) == 0:
        raise DicomInputError(
            "file has a DICOM header but no data set (truncated?); copy or re-export the "
            "complete file",
            path=path,
        )
    problem = None if end is None else end.problem()
    if problem:
        raise DicomInputError(f"{problem}; copy or re-export the complete file", path=path)
    return ds, findings


def _uid(ds: Dataset, keyword: str, path: Path) -> str:
    """A UID attribute, checked: digits and dots, at most 64 characters (PS3.5 §9.1).

    A UID with any other character is a corrupt file; used as is it would silently
    break a link or make the object "not RT" and ignored.
    """
    uid = str(ds.get(keyword, "") or "").strip(" \x00")
    if uid and (len(uid) > 64 or not _UID.match(uid)):
        raise DicomInputError(
            f"{uid[:70]!r} is not a valid UID (digits and dots, PS3.5 §9.1); the file is "
            "corrupt, re-export it",
            path=path,
            field=keyword,
        )
    return uid


def _check_class_in_meta(ds: Dataset, kind: Kind, path: Path) -> None:
    """Refuse an RT object whose data set lost the SOPClassUID its File Meta announces.

    SOPClassUID (0008,0016) is Type 1 (PS3.3 C.12.1); without it (a file cut right
    after its first elements) the object would be classed "not RT" and silently ignored.
    """
    meta_class = str(ds.file_meta.get("MediaStorageSOPClassUID", "") or "").strip(" \x00")
    announced = classify(meta_class, "")
    if kind is Kind.OTHER and not ds.get("SOPClassUID") and announced is not Kind.OTHER:
        raise DicomInputError(
            f"is missing although the File Meta Information announces {meta_class}; the file "
            "is incomplete or truncated, re-export it",
            path=path,
            field="SOPClassUID",
        )


def _not_dicom_message(path: Path) -> str:
    """Why a file named ``.dcm`` is not DICOM: an empty or cut file is never skipped silently."""
    size = path.stat().st_size
    what = "is empty (0 bytes)" if size == 0 else (
        f"holds {size} bytes without a DICOM header (no 'DICM' at byte 128, no data set)")
    return (f"is named .dcm but {what}; copy or re-export the complete file, or remove it "
            "from the folder")


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
        if how is None and path.suffix.lower() == ".dcm":
            raise DicomInputError(_not_dicom_message(path), path=path)
        if how is None:
            log.debug("skipping %s: not DICOM", path)
            ignored.append(str(path))
            continue
        ds, file_findings = read_header(path, how)
        kind = classify(_uid(ds, "SOPClassUID", path), str(ds.get("Modality", "")))
        _check_class_in_meta(ds, kind, path)
        if kind is Kind.OTHER:
            log.info(
                "ignoring %s: SOP class %s is not used by rtcheck", path, ds.get("SOPClassUID", "?")
            )
            ignored.append(str(path))
            continue
        uid = _uid(ds, "SOPInstanceUID", path)
        if not uid:
            raise DicomInputError(
                "SOPInstanceUID (0008,0018) is missing; the object cannot be linked. Re-export it.",
                path=path,
            )
        files.append(ScannedFile(str(path), kind, ds, uid, how == "meta", tuple(file_findings)))
    return files, findings, ignored
