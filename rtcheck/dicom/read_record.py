"""RT (Ion) Beams Treatment Record (PS3.3 C.8.8.16-C.8.8.18, C.8.8.26) → :class:`TreatmentRecord`.

* Delivery date-time: TreatmentDate (3008,0250) + TreatmentTime (3008,0251) of the
  RT General Treatment Record module; when absent, the first beam session's
  first TreatmentControlPointDate/Time (3008,0024/0025).
* Timezone: TimezoneOffsetFromUTC (0008,0201), e.g. ``+0100``, makes the
  datetime aware (PS3.3 C.12.1.1.8); without it the datetime stays naive. Offsets
  outside -1200..+1400 are refused.
* Fraction: CurrentFractionNumber (3008,0022) of the beam sessions.
* Delivered meterset of a beam: DeliveredMeterset (3008,0044) of the *last* item of its
  ControlPointDeliverySequence (3008,0040) — cumulative over the beam (PS3.3 C.8.8.18.1).
  An earlier control point's value is never used in its place: a last control point without
  the value leaves the meterset unknown with a RECORD_BEAM_INCOMPLETE warning, as does a
  beam session without ReferencedBeamNumber (300C,0006), Type 1 in C.8.8.18.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from pydicom.dataset import Dataset

from rtcheck.dicom.model import DeliveredBeam, TreatmentRecord
from rtcheck.dicom.sop import Kind
from rtcheck.dicom.values import decimal, integer, require_type1
from rtcheck.errors import DicomInputError
from rtcheck.findings import Finding, Severity

_TZ = re.compile(r"^([+-])(\d{2})(\d{2})$")


def parse_timezone(value: str, path: str) -> timezone | None:
    """``"+0100"`` → ``timezone(timedelta(hours=1))``; empty → ``None``."""
    text = value.strip()
    if not text:
        return None
    match = _TZ.match(text)
    if not match:
        raise DicomInputError(
            f"{text!r} is not of the form +HHMM/-HHMM", path=path, field="TimezoneOffsetFromUTC"
        )
    sign = 1 if match.group(1) == "+" else -1
    hours, minutes = int(match.group(2)), int(match.group(3))
    offset = sign * timedelta(hours=hours, minutes=minutes)
    # PS3.3 C.12.1.1.8 / PS3.5 Table 6.2-1: offsets run from -1200 to +1400
    if minutes > 59 or not timedelta(hours=-12) <= offset <= timedelta(hours=14):
        raise DicomInputError(
            f"{text!r} is not a UTC offset between -1200 and +1400", path=path,
            field="TimezoneOffsetFromUTC",
        )
    return timezone(offset)


def parse_da_tm(
    date: str, time: str, path: str, field: str, time_field: str | None = None
) -> datetime:
    """Combine a DICOM DA (YYYYMMDD) and TM (HHMMSS.FFFFFF, parts optional) value.

    ``field`` names the date attribute in errors, ``time_field`` the time attribute
    (default: ``field``).
    """
    date, time = date.strip(), time.strip()
    try:
        day = datetime.strptime(date, "%Y%m%d")
    except ValueError as exc:
        raise DicomInputError(
            f"{date!r} is not a DICOM date YYYYMMDD", path=path, field=field
        ) from exc
    if not time:
        return day
    time_field = time_field or field
    digits, _, frac = time.partition(".")
    if not digits.isdigit() or len(digits) not in (2, 4, 6):
        raise DicomInputError(
            f"{time!r} is not a DICOM time HHMMSS", path=path, field=time_field
        )
    hour, minute, second = int(digits[:2]), int(digits[2:4] or 0), int(digits[4:6] or 0)
    micro = int((frac + "000000")[:6]) if frac.isdigit() else 0
    try:
        return day.replace(hour=hour, minute=minute, second=second, microsecond=micro)
    except ValueError as exc:
        raise DicomInputError(
            f"{time!r} is not a valid time", path=path, field=time_field
        ) from exc


def _sessions(ds: Dataset, kind: Kind) -> list[Dataset]:
    keyword = (
        "TreatmentSessionIonBeamSequence"
        if kind is Kind.RTIONRECORD
        else "TreatmentSessionBeamSequence"
    )
    return list(ds.get(keyword) or [])


def _delivery(ds: Dataset, sessions: list[Dataset], path: str) -> datetime | None:
    tz = parse_timezone(str(ds.get("TimezoneOffsetFromUTC", "") or ""), path)
    date = str(ds.get("TreatmentDate", "") or "")
    time = str(ds.get("TreatmentTime", "") or "")
    when: datetime | None = None
    if date:
        when = parse_da_tm(date, time, path, "TreatmentDate", "TreatmentTime")
    else:
        for session in sessions:
            for point in session.get("ControlPointDeliverySequence") or []:
                cp_date = str(point.get("TreatmentControlPointDate", "") or "")
                if cp_date:
                    cp_time = str(point.get("TreatmentControlPointTime", "") or "")
                    when = parse_da_tm(
                        cp_date, cp_time, path, "TreatmentControlPointDate",
                        "TreatmentControlPointTime",
                    )
                    break
            if when is not None:
                break
    if when is not None and tz is not None:
        when = when.replace(tzinfo=tz)
    return when


def _delivered(session: Dataset, index: int, path: str) -> tuple[DeliveredBeam, list[Finding]]:
    points = list(session.get("ControlPointDeliverySequence") or [])
    delivered = decimal(points[-1], "DeliveredMeterset", path) if points else None
    number = integer(session, "ReferencedBeamNumber", path)
    name = str(session.get("BeamName", "") or "").strip()
    which = f"beam session {index + 1}" + (f" (beam {number})" if number is not None else "")
    problems = []
    if number is None:
        problems.append("has no ReferencedBeamNumber (300C,0006): the beam it delivered is unknown")
    if delivered is None:
        problems.append(
            "has no DeliveredMeterset (3008,0044) in its last control point: the delivered "
            "meterset is unknown"
        )
    findings = [
        Finding("RECORD_BEAM_INCOMPLETE", Severity.WARNING,
                f"treatment record {which} {problem}; check the export", path=path)
        for problem in problems
    ]
    beam = DeliveredBeam(
        number=number,
        name=name,
        delivered_meterset_mu=delivered,
        termination_status=str(session.get("TreatmentTerminationStatus", "") or "").strip(),
    )
    return beam, findings


def read_record(
    ds: Dataset, path: str, kind: Kind
) -> tuple[TreatmentRecord, list[Finding]]:
    """Convert one treatment-record dataset; warnings for beam sessions with unknown values."""
    keyword = (
        "TreatmentSessionIonBeamSequence"
        if kind is Kind.RTIONRECORD
        else "TreatmentSessionBeamSequence"
    )
    require_type1(ds, (keyword,), path, "C.8.8.18, C.8.8.26")
    sessions = _sessions(ds, kind)
    plan_refs = ds.get("ReferencedRTPlanSequence") or []
    plan_uid = str(plan_refs[0].get("ReferencedSOPInstanceUID", "")).strip() if plan_refs else ""
    fractions = {
        number
        for s in sessions
        if (number := integer(s, "CurrentFractionNumber", path, minimum=0)) is not None
    }
    beams = [_delivered(s, i, path) for i, s in enumerate(sessions)]
    record = TreatmentRecord(
        sop_instance_uid=str(ds.SOPInstanceUID).strip(),
        referenced_plan_uid=plan_uid,
        fraction_number=min(fractions) if fractions else None,
        delivery_datetime=_delivery(ds, sessions, path),
        beams=tuple(beam for beam, _ in beams),
        source_path=path,
        patient_id=str(ds.get("PatientID", "") or "").strip(),
    )
    return record, [f for _, found in beams for f in found]
