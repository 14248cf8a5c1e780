"""Treatment dates from RT Beams Treatment Records (``rtcheck endpoints --records``).

Each record (one delivered fraction session, read by
:func:`rtcheck.dicom.read_treatment_records`) becomes a course-1 radiotherapy
fraction event dated on the record's delivery date (the date as written in the
record, i.e. local clinic time when a timezone offset is given). The start of
follow-up then uses the last delivered fraction.

Patient mapping: the record's DICOM PatientID (0010,0020) must equal the event
file's ``patient_id`` (exact string, surrounding blanks removed). The PatientID is
taken from the record model (``TreatmentRecord.patient_id``), or read from the
record's file when the model has none. Findings: ``RECORDS_UNKNOWN_PATIENT`` (a
PatientID not in the event file), ``RECORDS_NO_DATE`` (a record without
Treatment Date), ``RT_END_MISMATCH`` (an ``rt_end`` row that differs from the last
delivered fraction).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

from rtcheck.dicom.model import TreatmentRecord
from rtcheck.events.schema import Modality, Radiotherapy
from rtcheck.findings import Finding, Severity


def _patient_id(record: TreatmentRecord) -> str:
    """The record's PatientID (from the model; read from its file when the model has none)."""
    if record.patient_id:
        return record.patient_id.strip()
    if not record.source_path:
        return ""
    import pydicom

    ds = pydicom.dcmread(record.source_path, stop_before_pixels=True, specific_tags=["PatientID"])
    return str(ds.get("PatientID", "") or "").strip()


def load_records(paths: Sequence[str | Path]) -> tuple[TreatmentRecord, ...]:
    """Read the records with :func:`rtcheck.dicom.read_treatment_records` (it owns parsing)."""
    from rtcheck.dicom import read_treatment_records

    return read_treatment_records(list(paths))


def record_events(records: Iterable[TreatmentRecord], known_patients: set[str]
                  ) -> tuple[list[Radiotherapy], list[Finding]]:
    """Turn treatment records into fraction events, one per record with a delivery date."""
    events: list[Radiotherapy] = []
    findings: list[Finding] = []
    unknown: dict[str, int] = defaultdict(int)
    for rec in records:
        path = rec.source_path
        when = rec.delivery_datetime
        if when is None:
            findings.append(Finding("RECORDS_NO_DATE", Severity.WARNING,
                                    "treatment record without Treatment Date: not used",
                                    path=path or None))
            continue
        pid = _patient_id(rec)
        if pid not in known_patients:
            unknown[pid] += 1
            continue
        events.append(Radiotherapy(patient_id=pid, event_date=when.date(), row=0,
                                   source="records", modality=Modality.RECORDS))
    for pid, count in sorted(unknown.items()):
        findings.append(Finding("RECORDS_UNKNOWN_PATIENT", Severity.WARNING,
                                f"{count} treatment record(s) with PatientID {pid!r} match no "
                                "patient_id of the event file: not used", subject=pid or "?"))
    return events, findings


def compare_with_rows(record_events_: Sequence[Radiotherapy], rows: Sequence[object]
                      ) -> list[Finding]:
    """``RT_END_MISMATCH`` when an ``rt_end`` row differs from the last delivered fraction."""
    last: dict[str, date] = {}
    for e in record_events_:
        last[e.patient_id] = max(e.event_date, last.get(e.patient_id, e.event_date))
    out = []
    for row in rows:
        if (isinstance(row, Radiotherapy) and row.is_last_day and row.course == 1
                and row.patient_id in last and last[row.patient_id] != row.event_date):
            out.append(Finding("RT_END_MISMATCH", Severity.WARNING,
                               f"rt_end row {row.row} says {row.event_date} but the last "
                               f"delivered fraction in the RT records is {last[row.patient_id]}; "
                               "the later day is used", subject=row.patient_id))
    return out
