"""De-identify one pydicom dataset in place: the actions of :mod:`rtcheck.deid.profile`.

The Table E.1-1 dummy and empty values of the D/Z actions are dicom-anonymizer's own
(``replace`` / ``empty``: ``ANONYMIZED``, ``0``, an empty string...); a sequence that is to
be emptied or replaced by a dummy loses all its items (the conservative reading for
sequences); UIDs, dates and the patient's pseudonym are rtcheck's keyed replacements.
Numbers and binary data (ContourData, dose pixels, MLC positions) are never decoded, so
they are written back byte for byte.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from rtcheck import __version__
from rtcheck.deid.elements import element_vr, keyword, values_of
from rtcheck.deid.keys import KeyedMapper
from rtcheck.deid.profile import TABLE, Action, decide, is_instance_uid

#: DeidentificationMethod (0012,0063) values rtcheck adds (LO: at most 64 characters each)
METHOD = (f"rtcheck {__version__} anonymize: PS3.15 E.1-1 ({TABLE})",
          "Retain Longitudinal Temporal Information Modified Dates",
          "RT descriptors retained; private elements removed")
#: DeidentificationMethodCodeSequence (0012,0064): CID 7050 codes of what was applied
METHOD_CODES = (("113100", "Basic Application Confidentiality Profile"),
                ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"))
_DA = re.compile(r"^(\d{4})\.?(\d{2})\.?(\d{2})$")


@dataclass(frozen=True)
class Patient:
    """What the transform needs to know about the patient of one file."""

    offset_days: int
    pseudonym_id: str
    pseudonym_name: str


@dataclass
class Counts:
    """What the transform did, per action (for the summary line)."""

    actions: Counter[str] = field(default_factory=Counter)
    dates_emptied: int = 0


def shift_date(value: str, days: int) -> str | None:
    """A DA value ``days`` earlier (``YYYYMMDD``; also ``YYYY.MM.DD`` and ranges), or None."""
    text = value.strip()
    if not text:
        return ""
    if "-" in text:  # a range (PS3.5 DA): DA-DA, either end may be empty
        parts = [shift_date(p, days) if p else "" for p in text.split("-", 1)]
        return None if None in parts else "-".join(p or "" for p in parts)
    match = _DA.match(text)
    if not match:
        return None
    try:
        day = dt.date(*(int(g) for g in match.groups()))
        return (day - dt.timedelta(days=days)).strftime("%Y%m%d")
    except (ValueError, OverflowError):
        return None


def shift_datetime(value: str, days: int) -> str | None:
    """A DT value with its date part ``days`` earlier; time and UTC offset unchanged."""
    text = value.strip()
    if not text:
        return ""
    if len(text) < 8 or not text[:8].isdigit():
        return None  # YYYY or YYYYMM alone cannot be moved by days
    date = shift_date(text[:8], days)
    return None if date is None else date + text[8:]


class Transformer:
    """Applies the profile to datasets; one per run (it caches the keyed UIDs)."""

    def __init__(self, mapper: KeyedMapper) -> None:
        self.mapper = mapper
        self.counts = Counts()

    def anonymize(self, ds: Dataset, patient: Patient) -> None:
        """De-identify ``ds`` (and its File Meta Information) in place."""
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            self._clean(meta, patient)
        self._clean(ds, patient)
        _mark(ds)

    def _clean(self, ds: Dataset, patient: Patient) -> None:
        for tag in list(ds.keys()):
            vr = element_vr(ds, tag)
            kw = keyword(tag)
            action = decide(tag, kw, vr)
            self.counts.actions[action.value] += 1
            self._apply(ds, tag, vr, kw, action, patient)

    def _apply(self, ds: Dataset, tag: BaseTag, vr: str, kw: str, action: Action,
               patient: Patient) -> None:
        if vr == "SQ":
            self._sequence(ds, tag, action, patient)
        elif action in (Action.REMOVE, Action.PRIVATE):
            del ds[tag]
        elif action is Action.PSEUDONYM:
            self._pseudonym(ds, tag, kw, patient)
        elif action in (Action.UID, Action.SEQUENCE_UIDS):
            self._uids(ds, tag, kw)
        elif action is Action.SHIFT_DATE:
            self._dates(ds, tag, vr, patient.offset_days)
        elif action is Action.EMPTY and vr in ("DA", "DT", "TM"):
            ds[tag].value = ""
        elif action not in (Action.KEEP, Action.RETAIN):
            _table_value(ds, tag, action)

    def _sequence(self, ds: Dataset, tag: BaseTag, action: Action, patient: Patient) -> None:
        if action in (Action.REMOVE, Action.PRIVATE):
            del ds[tag]
        elif action in (Action.KEEP, Action.RETAIN, Action.SEQUENCE_UIDS):
            for item in ds[tag].value or []:
                self._clean(item, patient)
        else:  # Z, D and their combinations: no item survives
            ds[tag].value = []

    @staticmethod
    def _pseudonym(ds: Dataset, tag: BaseTag, kw: str, patient: Patient) -> None:
        elem = ds[tag]
        if str(elem.value or "").strip():
            elem.value = patient.pseudonym_id if kw == "PatientID" else patient.pseudonym_name

    def _uids(self, ds: Dataset, tag: BaseTag, kw: str) -> None:
        elem = ds[tag]
        values = [v.strip(" \x00") for v in values_of(elem.value)]
        new = [self.mapper.uid(v) if is_instance_uid(kw, v) else v for v in values]
        if new != values:
            elem.value = new if len(new) > 1 else new[0]

    def _dates(self, ds: Dataset, tag: BaseTag, vr: str, days: int) -> None:
        elem = ds[tag]
        shift = shift_date if vr == "DA" else shift_datetime
        new = [shift(v, days) for v in values_of(elem.value)]
        if any(v is None for v in new):
            self.counts.dates_emptied += 1
            elem.value = ""
        elif new:
            elem.value = new if len(new) > 1 else new[0]


def _table_value(ds: Dataset, tag: BaseTag, action: Action) -> None:
    """Z and D actions with dicom-anonymizer's values for the VR (X/Z → Z, X/D → D)."""
    from dicomanonymizer import simpledicomanonymizer as lib  # type: ignore[import-untyped]

    function = lib.empty if action in (Action.EMPTY, Action.REMOVE_OR_EMPTY) else lib.replace
    try:
        function(ds, tag)
    except NotImplementedError:  # a VR the library has no dummy for (OW, OF...): remove it
        del ds[tag]


def _mark(ds: Dataset) -> None:
    """PatientIdentityRemoved, DeidentificationMethod (+ codes) and the modified-dates flag."""
    ds.PatientIdentityRemoved = "YES"
    existing = [v for v in values_of(ds.get("DeidentificationMethod")) if v.strip()]
    ds.DeidentificationMethod = list(dict.fromkeys([*existing, *METHOD]))
    codes = list(ds.get("DeidentificationMethodCodeSequence") or [])
    have = {str(item.get("CodeValue", "")) for item in codes}
    for value, meaning in METHOD_CODES:
        if value not in have:
            item = Dataset()
            item.CodeValue = value
            item.CodingSchemeDesignator = "DCM"
            item.CodeMeaning = meaning
            codes.append(item)
    ds.DeidentificationMethodCodeSequence = codes
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
