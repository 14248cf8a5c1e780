"""The input, read once before anything is written: files, patients and their identifiers.

Every DICOM file under IN_DIR (any SOP class) is read without its large values; from it
come the patient (PatientID, PatientName), the UIDs that link it to other files, and every
identifying value the verification will later search the output for
(:class:`~rtcheck.deid.identifiers.Identifiers`).

**Patients and date offsets.** All dates of one patient move by the same keyed offset. The
offset is keyed by the patient's ID; files whose IDs differ but which are linked — they
share a study, a frame of reference, or one references the other (a TPS that writes
another PatientID into the dose than into the plan) — are one patient for the offset, keyed
by the smallest of their IDs, so the link keeps its time relation too. Each ID keeps its
own pseudonym, so such a mismatch still shows after anonymisation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from rtcheck.deid.elements import ElementPath, Leaf, walk
from rtcheck.deid.identifiers import Identifiers
from rtcheck.deid.keys import KeyedMapper
from rtcheck.deid.profile import is_instance_uid
from rtcheck.deid.transform import Patient
from rtcheck.errors import DicomInputError

#: UIDs that tie files of one patient together (for the shared date offset)
_LINK_KEYWORDS = frozenset({"StudyInstanceUID", "FrameOfReferenceUID", "SOPInstanceUID",
                            "ReferencedSOPInstanceUID", "ReferencedFrameOfReferenceUID"})


@dataclass
class SourceFile:
    """One input DICOM file as read before anonymisation."""

    path: Path
    rel: Path
    modality: str
    sop_class_uid: str
    sop_instance_uid: str
    patient_id: str
    patient_name: str
    link_uids: set[str] = field(default_factory=set)
    #: every non-empty DA/DT value by its element path (compared at the same path later)
    dates: dict[ElementPath, str] = field(default_factory=dict)


def read_dataset(path: Path, *, defer: bool) -> Dataset:
    """Read a DICOM file (pydicom's warnings about odd values silenced, as the loader does)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(path, force=True, defer_size=4096 if defer else None)
    except Exception as exc:  # a corrupt file makes pydicom raise almost anything
        raise DicomInputError(
            f"not a readable DICOM file ({type(exc).__name__}: {exc}); re-export it from the TPS",
            path=path,
        ) from exc


def read_source(path: Path, root: Path, found: Identifiers) -> SourceFile:
    """Read one input file; its identifying values are added to ``found``."""
    ds = read_dataset(path, defer=True)
    source = SourceFile(
        path=path, rel=path.relative_to(root),
        modality=str(ds.get("Modality", "") or "").strip().upper(),
        sop_class_uid=str(ds.get("SOPClassUID", "")
                          or ds.file_meta.get("MediaStorageSOPClassUID", "") or "").strip(" \x00"),
        sop_instance_uid=str(ds.get("SOPInstanceUID", "") or "").strip(" \x00"),
        patient_id=str(ds.get("PatientID", "") or "").strip(),
        patient_name=str(ds.get("PatientName", "") or "").strip(),
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            leaves = [*walk(ds.file_meta), *walk(ds)] if ds.file_meta else list(walk(ds))
    except Exception as exc:
        raise DicomInputError(
            f"an element cannot be decoded ({type(exc).__name__}: {exc}); the file is "
            "corrupt, re-export it", path=path) from exc
    for leaf in leaves:
        found.add(leaf)
        _note_link_and_dates(source, leaf)
    return source


def _note_link_and_dates(source: SourceFile, leaf: Leaf) -> None:
    if leaf.vr == "UI" and leaf.keyword in _LINK_KEYWORDS:
        source.link_uids.update(v.strip(" \x00") for v in leaf.values
                                if is_instance_uid(leaf.keyword, v.strip(" \x00")))
    elif leaf.vr in ("DA", "DT"):
        value = "\\".join(v.strip() for v in leaf.values)
        if value.strip("\\"):
            source.dates[leaf.path] = value


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the root is the smallest ID


def offset_keys(sources: list[SourceFile]) -> dict[str, str]:
    """PatientID → the ID that keys its date offset (the smallest ID it is linked to)."""
    groups = _UnionFind()
    first_with_uid: dict[str, str] = {}
    for source in sources:
        groups.find(source.patient_id)
        for uid in sorted(source.link_uids):
            other = first_with_uid.setdefault(uid, source.patient_id)
            groups.union(other, source.patient_id)
    return {s.patient_id: groups.find(s.patient_id) for s in sources}


def patients(sources: list[SourceFile], mapper: KeyedMapper) -> dict[Path, Patient]:
    """Each input file's patient: date offset and pseudonyms."""
    keys = offset_keys(sources)
    out: dict[Path, Patient] = {}
    for source in sources:
        token = mapper.patient_id(source.patient_id or source.patient_name)
        out[source.path] = Patient(
            offset_days=mapper.date_offset_days(keys[source.patient_id]),
            pseudonym_id=token,
            pseudonym_name=token,
        )
    return out
