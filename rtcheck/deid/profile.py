"""The attribute actions: PS3.15 Table E.1-1 from dicom-anonymizer, plus rtcheck's options.

The Basic Application Level Confidentiality Profile's action for each attribute comes from
the table that dicom-anonymizer generates from the standard (``dicomfields_2026c``: the
2026c edition of PS3.15); rtcheck keeps no tag list of its own for it. Action codes as in
the standard: X remove, Z empty, D dummy value, U UID replaced consistently, K keep, and the
combinations (X/Z, X/D, X/Z/D, Z/D: the first unless the IOD needs the next; X/Z/U*: a
sequence whose UIDs are replaced).

rtcheck then applies, on top of the table and in this order (:func:`decide`):

1. private elements (odd groups, and the File Meta Information's PrivateInformation and
   its creator UID) are removed — the profile's default;
2. PatientName and PatientID get the keyed pseudonym (:mod:`rtcheck.deid.keys`);
3. the RT attributes a plan check needs are retained (:data:`RETAINED`); retained text is
   still searched for identifiers by the verification;
4. every UI value other than a class UID, a transfer syntax or a registered
   ``1.2.840.10008.*`` UID is replaced by its keyed UID, wherever it is (U);
5. **Retain Longitudinal Temporal Information with Modified Dates** (PS3.15 E.3.6): every
   DA and DT value is moved back by the patient's offset in whole weeks (whole days keep
   the times of day, whole weeks the weekdays too) and every TM value is kept, so
   intervals — fraction gaps, follow-up — are unchanged to the second; only the
   patient's own birth date and time are removed (not needed, and a date of birth);
6. every other attribute gets the table's action; a person name (PN) the table does not
   list is emptied; everything else is kept (K), e.g. all dosimetric content.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from pydicom.tag import BaseTag

#: the dicom-anonymizer table used: PS3.15 Table E.1-1 of the 2026c edition
TABLE = "dicomfields_2026c"


class Action(StrEnum):
    """PS3.15 Table E.1-1 action codes, and rtcheck's own decisions."""

    REMOVE = "X"
    EMPTY = "Z"
    DUMMY = "D"
    UID = "U"
    EMPTY_OR_DUMMY = "Z/D"
    REMOVE_OR_EMPTY = "X/Z"
    REMOVE_OR_DUMMY = "X/D"
    REMOVE_EMPTY_OR_DUMMY = "X/Z/D"
    SEQUENCE_UIDS = "X/Z/U*"
    KEEP = "K"
    # rtcheck's decisions on top of the table
    PSEUDONYM = "pseudonym"
    SHIFT_DATE = "shift date"
    RETAIN = "retain"
    PRIVATE = "private"


#: dicom-anonymizer category → action, applied in this order (a later category wins, as in
#: the library's own ``initialize_actions``)
_CATEGORIES = (
    ("D_TAGS", Action.DUMMY), ("Z_TAGS", Action.EMPTY), ("X_TAGS", Action.REMOVE),
    ("U_TAGS", Action.UID), ("Z_D_TAGS", Action.EMPTY_OR_DUMMY),
    ("X_Z_TAGS", Action.REMOVE_OR_EMPTY), ("X_D_TAGS", Action.REMOVE_OR_DUMMY),
    ("X_Z_D_TAGS", Action.REMOVE_EMPTY_OR_DUMMY), ("X_Z_U_STAR_TAGS", Action.SEQUENCE_UIDS),
)

#: RT attributes rtcheck keeps although Table E.1-1 would change them, and why
RETAINED: dict[str, str] = {
    "ROIName": "structure names: protocol checks match organs by name (E.1-1: Z)",
    "RTPlanLabel": "the plan's label names the case and selects it with --plan (E.1-1: D)",
    "RTPlanName": "reported with the plan (E.1-1: X)",
    "StructureSetLabel": "reported with the structure set (E.1-1: D)",
    "DoseReferenceDescription": "describes the prescription the check reads (E.1-1: X)",
    "TreatmentMachineName": "beam data: the machine of each beam (E.1-1: X/Z; PS3.15 "
                            "Retain Device Identity, for this attribute only)",
    "TimezoneOffsetFromUTC": "treatment times are compared in UTC across a daylight-saving "
                             "change (E.1-1: X; E.3.6 modified dates)",
}
#: the patient's birth date and time: removed, never shifted
BIRTH = frozenset({"PatientBirthDate", "PatientBirthTime"})
PSEUDONYMISED = frozenset({"PatientName", "PatientID"})
#: the File Meta Information's private data (PS3.10 §7.1), removed with the private elements
FILE_META_PRIVATE = frozenset({"PrivateInformationCreatorUID", "PrivateInformation"})
REGISTERED_UID_ROOT = "1.2.840.10008."


@dataclass(frozen=True)
class _Masked:
    group: int
    element: int
    group_mask: int
    element_mask: int
    action: Action


@lru_cache(maxsize=1)
def _table() -> tuple[dict[int, Action], tuple[_Masked, ...]]:
    from dicomanonymizer.dicomfields_selector import (  # type: ignore[import-untyped]
        dicom_anonymization_database_selector,
    )

    database = dicom_anonymization_database_selector(TABLE)
    exact: dict[int, Action] = {}
    masked: list[_Masked] = []
    for category, action in _CATEGORIES:
        for tag in database[category]:
            if len(tag) == 2:
                exact[(tag[0] << 16) | tag[1]] = action
            else:  # a repeating group such as (60xx,4000) Overlay Comments
                masked.append(_Masked(tag[0], tag[1], tag[2], tag[3], action))
    return exact, tuple(masked)


def table_action(tag: BaseTag) -> Action | None:
    """The Table E.1-1 action of a tag, or ``None`` when the table does not list it (K)."""
    exact, masked = _table()
    found = exact.get(int(tag))
    if found is not None:
        return found
    for m in masked:
        if (tag.group & m.group_mask == m.group & m.group_mask
                and tag.element & m.element_mask == m.element & m.element_mask):
            return m.action
    return None


def is_instance_uid(keyword: str, value: str) -> bool:
    """True for a UID that identifies something (replaced and searched for): not a class
    UID, not a transfer syntax or a private-information creator (they name software), not a
    registered ``1.2.840.10008.*`` UID."""
    return bool(value) and not (
        keyword.endswith("ClassUID") or keyword in ("TransferSyntaxUID",
                                                    "PrivateInformationCreatorUID")
        or value.startswith(REGISTERED_UID_ROOT)
    )


def _rtcheck_rule(tag: BaseTag, keyword: str, vr: str) -> Action | None:
    """Steps 1-5 of the module docstring; None leaves the element to the table."""
    if tag.is_private or keyword in FILE_META_PRIVATE:
        return Action.PRIVATE
    if keyword in PSEUDONYMISED:
        return Action.PSEUDONYM
    if keyword in RETAINED:
        return Action.RETAIN
    if keyword in BIRTH:
        return Action.REMOVE if keyword == "PatientBirthTime" else Action.EMPTY
    if vr == "UI":
        return Action.REMOVE if table_action(tag) is Action.REMOVE else Action.UID
    return {"DA": Action.SHIFT_DATE, "DT": Action.SHIFT_DATE, "TM": Action.KEEP}.get(vr)


def decide(tag: BaseTag, keyword: str, vr: str) -> Action:
    """What happens to one element (see the module docstring for the order)."""
    rule = _rtcheck_rule(tag, keyword, vr)
    if rule is not None:
        return rule
    table = table_action(tag)
    if table is None:
        return Action.EMPTY if vr == "PN" else Action.KEEP
    return table
